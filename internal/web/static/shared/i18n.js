// What every page does with languages: zh-CN by default, English when
// asked (?lang=en) or chosen before on this device; messages with {name}
// placeholders. Touches no DOM.

// pickLang returns the language of the page: ?lang=, else the choice
// saved under storeKey.
export function pickLang (storeKey) {
  const q = new URLSearchParams(location.search).get('lang')
  const saved = q || localStorage.getItem(storeKey)
  return saved === 'en' ? 'en' : 'zh-CN'
}

// translate returns the message key of lang (zh-CN's when lang lacks it,
// the key when both do) with each {name} filled from params.
export function translate (messages, lang, key, params = {}) {
  const s = messages[lang][key] ?? messages['zh-CN'][key] ?? key
  return s.replace(/\{(\w+)\}/g, (_, k) => (params[k] ?? ''))
}
