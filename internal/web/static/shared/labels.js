// The labels of license face fields, from the platform's public catalog
// (GET /api/v1/catalog/types/{code}/versions/{n}/labels). An approved
// template version never changes, so each is kept on the device once read:
// a page opened offline still names the fields of the types it has seen.
// Touches no DOM.

const KEY = 'zhengzhao.labels.' // + code + '/' + version
const pending = new Map()

// cachedLabels returns the labels of a template version saved on this
// device, or null.
export function cachedLabels (typeCode, version) {
  try {
    const s = JSON.parse(localStorage.getItem(KEY + typeCode + '/' + version))
    if (s && Array.isArray(s.fields)) return s
  } catch (e) { /* a damaged copy is no copy */ }
  return null
}

// faceLabels returns the labels of a template version: the saved copy, or
// the catalog's; null when neither is at hand (offline, unknown version).
export function faceLabels (typeCode, version) {
  const saved = cachedLabels(typeCode, version)
  if (saved) return Promise.resolve(saved)
  const k = typeCode + '/' + version
  if (!pending.has(k)) {
    pending.set(k, (async () => {
      try {
        const r = await fetch(`/api/v1/catalog/types/${encodeURIComponent(typeCode)}/versions/${encodeURIComponent(version)}/labels`,
          { headers: { Accept: 'application/json' } })
        if (!r.ok) return null
        const text = await r.text()
        const l = JSON.parse(text)
        if (!l || !Array.isArray(l.fields)) return null
        localStorage.setItem(KEY + k, text)
        return l
      } catch (e) {
        return null
      } finally {
        pending.delete(k)
      }
    })())
  }
  return pending.get(k)
}

// pick chooses the label of lang ('zh-CN' or 'en') from a {zh-CN, en}
// label, falling back to the other language.
function pick (label, lang) {
  if (!label) return ''
  return (lang === 'en' ? label.en || label['zh-CN'] : label['zh-CN'] || label.en) || ''
}

// fieldLabel is the label of a face field in lang, or its key when the
// labels do not name it.
export function fieldLabel (labels, key, lang) {
  const f = labels && labels.fields.find((x) => x.key === key)
  return (f && pick(f.label, lang)) || key
}

// typeName is the name of the license type in lang, or its code.
export function typeName (labels, typeCode, lang) {
  return (labels && pick(labels.name, lang)) || typeCode
}
