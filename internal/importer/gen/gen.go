// Package gen makes rows of stock business licenses for the import's
// tests, benchmarks and walkthrough: deterministic from a seed, realistic
// (credit codes with correct check characters, Chinese company and person
// names, addresses in real regions, consistent dates), with an optional
// share of bad rows of several kinds, written as CSV, JSON Lines or XLSX.
package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// TypeCode is the shipped license type the rows are of: the business
// license.
const TypeCode = "BL0001"

// Bad is the kind of fault injected into a row; Good for none.
type Bad string

// The kinds of bad rows, named by the rule they break.
const (
	Good           Bad = ""
	BadCheckChar   Bad = "check-character" // the credit code's last character is wrong
	BadRequired    Bad = "required"        // the company name is empty
	BadDate        Bad = "date"            // a date of establishment that does not exist
	BadEnum        Bad = "enum"            // a type of entity the template does not list
	BadRegion      Bad = "region"          // a region code that does not exist
	BadColumns     Bad = "columns"         // one cell more than the header
	BadCompletedOn Bad = "not-future"      // a case completed after today
)

// BadKinds lists every kind of bad row, in the order they are drawn from.
func BadKinds() []Bad {
	return []Bad{BadCheckChar, BadRequired, BadDate, BadEnum, BadRegion, BadColumns, BadCompletedOn}
}

// Options tune a generator. The zero value makes only good rows dated up
// to 2026-01-01.
type Options struct {
	Seed uint64
	// BadFraction is the share of bad rows, 0 to 1.
	BadFraction float64
	// Now is the day no date of a row passes; 2026-01-01 when zero.
	Now time.Time
	// NumberPrefix starts every license number: files of other prefixes
	// share no number.
	NumberPrefix string
}

// Generator makes rows one after the other.
type Generator struct {
	rng *rand.Rand
	opt Options
	seq int
	now time.Time
}

// New returns a generator; the same options give the same rows.
func New(opt Options) *Generator {
	now := opt.Now
	if now.IsZero() {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Generator{rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), opt: opt, now: now} // #nosec G404 -- test data, deterministic on purpose
}

// GoodRows returns how many of the first n rows of opt are good.
func GoodRows(opt Options, n int) int64 {
	g := New(opt)
	var good int64
	for range n {
		if g.Next().Bad == Good {
			good++
		}
	}
	return good
}

// Columns returns the header of the rows: the license's number, validity
// start and completion date, then the business license's face fields by
// their keys (the holder is read from credit_code and name).
func Columns() []string {
	return []string{"number", "valid_from", "completed_on", "credit_code", "name", "entity_type", "legal_representative",
		"business_scope", "registered_capital", "established_on", "term_until", "domicile", "domicile_region", "registration_authority"}
}

// Row is one generated row: the cells under Columns (one more for
// BadColumns) and the fault injected.
type Row struct {
	Values []string
	Bad    Bad
}

// Positions of the cells in Columns.
const (
	colNumber = iota
	colValidFrom
	colCompletedOn
	colCreditCode
	colName
	colEntityType
	colLegalRep
	colScope
	colCapital
	colEstablished
	colTermUntil
	colDomicile
	colRegion
	colAuthority
	numColumns
)

type region struct {
	code, province, city, district, short string
}

// regions are real GB/T 2260 county-level codes.
var regions = []region{
	{"110105", "", "北京市", "朝阳区", "北京"},
	{"110108", "", "北京市", "海淀区", "北京"},
	{"310115", "", "上海市", "浦东新区", "上海"},
	{"440305", "广东省", "深圳市", "南山区", "深圳"},
	{"440106", "广东省", "广州市", "天河区", "广州"},
	{"330106", "浙江省", "杭州市", "西湖区", "杭州"},
	{"350102", "福建省", "福州市", "鼓楼区", "福州"},
	{"350203", "福建省", "厦门市", "思明区", "厦门"},
	{"510107", "四川省", "成都市", "武侯区", "成都"},
	{"420106", "湖北省", "武汉市", "武昌区", "武汉"},
	{"320505", "江苏省", "苏州市", "虎丘区", "苏州"},
	{"370202", "山东省", "青岛市", "市南区", "青岛"},
	{"610113", "陕西省", "西安市", "雁塔区", "西安"},
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文辉玉兰晓峰鑫宇浩然子涵欣怡梓轩佳琪雨桐思远嘉怡俊杰")
	brandChars = []rune("鑫盛华泰瑞丰恒远宏达信诚通明源海嘉联兴创智云启航博锐天佑金润")
	industries = []string{"科技", "信息技术", "贸易", "商贸", "建筑工程", "餐饮管理", "物流", "电子商务", "文化传媒", "医药", "环保科技", "食品", "机械设备", "教育咨询", "农业开发"}
	roads      = []string{"人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "五四路", "长江路", "学院路", "科技路", "滨江大道", "东风路"}
	scopes     = []string{"软件开发", "信息技术咨询服务", "数据处理服务", "技术服务、技术开发、技术咨询", "日用百货销售", "食品销售（仅销售预包装食品）",
		"餐饮服务", "道路货物运输（不含危险货物）", "广告设计、代理", "会议及展览服务", "建筑材料销售", "机械设备租赁", "农产品的生产、销售、加工、运输、贮藏及其他相关服务"}
	// creditBody are characters of the GB 32100 set for the organization
	// code body.
	creditBody = "0123456789ABCDEFGHJKLMNPQRTUWXY"
)

// entityTypes are the business license's types of entity with the ending
// of a company name of the type.
var entityTypes = []struct{ kind, suffix string }{
	{"有限责任公司", "有限公司"},
	{"有限责任公司（自然人独资）", "有限公司"},
	{"股份有限公司", "股份有限公司"},
	{"个人独资企业", "经营部"},
	{"普通合伙企业", "合伙企业"},
	{"农民专业合作社", "专业合作社"},
}

// Next returns the next row.
func (g *Generator) Next() Row {
	g.seq++
	r := g.rng
	reg := regions[r.IntN(len(regions))]
	body := make([]byte, 8)
	for i := range body {
		body[i] = creditBody[r.IntN(len(creditBody))]
	}
	code, err := ids.NewCreditCode('9', '1', reg.code, string(body))
	if err != nil {
		panic(fmt.Sprintf("gen: region table: %v", err)) // a defect of the tables above, caught by the tests
	}
	et := entityTypes[r.IntN(len(entityTypes))]
	name := reg.short + g.pick(brandChars, 2) + industries[r.IntN(len(industries))] + et.suffix
	// Established between 1995 and a month before now.
	lo := time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(g.now.Sub(lo).Hours()/24) - 30
	est := lo.AddDate(0, 0, r.IntN(days))
	term := ""
	if r.IntN(2) == 0 {
		term = est.AddDate(20+10*r.IntN(2), 0, -1).Format(time.DateOnly)
	}
	capital := ""
	if r.IntN(5) > 0 {
		capital = strconv.Itoa(10*(1+r.IntN(1000))) + ".00"
	}
	n := 2 + r.IntN(3)
	items := make([]string, 0, n)
	for range n {
		items = append(items, scopes[r.IntN(len(scopes))])
	}
	v := make([]string, numColumns, numColumns+1)
	v[colNumber] = g.opt.NumberPrefix + reg.code + strconv.Itoa(est.Year()) + fmt.Sprintf("%08d", g.seq)
	v[colValidFrom] = est.Format(time.DateOnly)
	v[colCompletedOn] = est.Format(time.DateOnly)
	v[colCreditCode] = code
	v[colName] = name
	v[colEntityType] = et.kind
	v[colLegalRep] = g.person()
	v[colScope] = "一般项目：" + strings.Join(items, "；") + "。\n（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
	v[colCapital] = capital
	v[colEstablished] = est.Format(time.DateOnly)
	v[colTermUntil] = term
	v[colDomicile] = reg.province + reg.city + reg.district + roads[r.IntN(len(roads))] + strconv.Itoa(1+r.IntN(999)) + "号"
	v[colRegion] = reg.code
	v[colAuthority] = reg.city + reg.district + "市场监督管理局"
	row := Row{Values: v}
	if g.opt.BadFraction > 0 && r.Float64() < g.opt.BadFraction {
		kinds := BadKinds()
		row.Bad = kinds[r.IntN(len(kinds))]
		g.spoil(&row)
	}
	return row
}

// spoil injects the row's fault.
func (g *Generator) spoil(row *Row) {
	v := row.Values
	switch row.Bad {
	case BadCheckChar:
		c := v[colCreditCode]
		last := c[len(c)-1]
		i := strings.IndexByte(creditBody, last)
		v[colCreditCode] = c[:len(c)-1] + string(creditBody[(i+1+g.rng.IntN(len(creditBody)-1))%len(creditBody)])
	case BadRequired:
		v[colName] = ""
	case BadDate:
		v[colEstablished] = v[colEstablished][:4] + "-02-30"
	case BadEnum:
		v[colEntityType] = "无限责任公司"
	case BadRegion:
		v[colRegion] = "990101"
	case BadColumns:
		row.Values = append(v, "多余的一列")
	case BadCompletedOn:
		v[colCompletedOn] = g.now.AddDate(0, 0, 2+g.rng.IntN(300)).Format(time.DateOnly)
	}
}

// pick returns n characters drawn from set.
func (g *Generator) pick(set []rune, n int) string {
	out := make([]rune, n)
	for i := range out {
		out[i] = set[g.rng.IntN(len(set))]
	}
	return string(out)
}

// person returns a Chinese person's name of two or three characters.
func (g *Generator) person() string {
	return string(surnames[g.rng.IntN(len(surnames))]) + g.pick(givenChars, 1+g.rng.IntN(2))
}

// CitizenID returns a GB 11643 citizen ID number of a person born between
// 1950 and 2005 in one of the regions, with its check character, for rows
// of the person types (a holder, a legal representative).
func (g *Generator) CitizenID() string {
	reg := regions[g.rng.IntN(len(regions))]
	lo := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	born := lo.AddDate(0, 0, g.rng.IntN(55*365))
	first17 := reg.code + born.Format("20060102") + fmt.Sprintf("%03d", 1+g.rng.IntN(999))
	c, err := ids.CitizenIDCheckChar(first17)
	if err != nil {
		panic(fmt.Sprintf("gen: citizen ID %s: %v", first17, err)) // a defect of the tables above, caught by the tests
	}
	return first17 + string(c)
}
