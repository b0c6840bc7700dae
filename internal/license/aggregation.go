package license

import "time"

// AggregationZone is the calendar aggregation deadlines count in: China
// Standard Time, UTC+8 without daylight saving, the issuers' own.
var AggregationZone = time.FixedZone("CST", 8*3600)

// StockWorkingDays is how many working days after its business completion
// a license of a bulk (stock) import may reach the platform: five.
const StockWorkingDays = 5

// AggregationDue returns the last day (midnight in AggregationZone) on
// which a license whose case completed on the day of completed reaches
// the platform in time: that same day for an increment (licenses issued
// offline, aggregated daily), the fifth working day after it for stock. A
// working day is Monday to Friday; public holidays and the weekends worked
// in their place are not modelled, so a deadline across a holiday is
// earlier than the official calendar's.
func AggregationDue(completed time.Time, increment bool) time.Time {
	y, m, d := completed.In(AggregationZone).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, AggregationZone)
	if increment {
		return day
	}
	for n := 0; n < StockWorkingDays; {
		day = day.AddDate(0, 0, 1)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return day
}

// AggregationLate reports whether a license whose case completed on the
// day of completed and which reached the platform at imported came after
// its deadline (AggregationDue): on a later day in AggregationZone.
func AggregationLate(completed, imported time.Time, increment bool) bool {
	y, m, d := imported.In(AggregationZone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, AggregationZone).After(AggregationDue(completed, increment))
}
