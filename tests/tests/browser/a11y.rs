//! Basic accessibility checks run in the page on every step of the journey: each form control
//! has a label, field errors are tied to their fields, ids are unique, links and buttons have
//! names, and nothing is wider than the window.

/// Returns the problems found as a list of strings (empty: none).
pub const CHECKS: &str = r#"
const problems = [];
const byId = (id) => document.getElementById(id);
const ids = (el, attr) => (el.getAttribute(attr) || '').split(/\s+/).filter(Boolean);
const describe = (el) => el.id ? '#' + el.id : (el.name ? '[name=' + el.name + ']' : el.outerHTML.slice(0, 80));
const skipped = ['hidden', 'submit', 'button', 'reset', 'image'];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (skipped.includes((el.getAttribute('type') || '').toLowerCase())) continue;
  const labelText = Array.from(el.labels || []).map((l) => l.textContent.trim()).join('');
  const named = labelText !== ''
    || (el.getAttribute('aria-label') || '').trim() !== ''
    || ids(el, 'aria-labelledby').some((id) => byId(id) && byId(id).textContent.trim() !== '');
  if (!named) problems.push('no label: ' + describe(el));
  const described = ids(el, 'aria-describedby');
  for (const id of described) {
    if (!byId(id)) problems.push(describe(el) + ': aria-describedby names a missing #' + id);
  }
  if (el.getAttribute('aria-invalid') === 'true' && described.length === 0) {
    problems.push(describe(el) + ': aria-invalid without aria-describedby');
  }
}
// A field's error message must be what some control is described by; a form-wide alert
// (role=alert without a field) is announced by itself.
const referenced = new Set();
for (const el of document.querySelectorAll('[aria-describedby]')) {
  for (const id of ids(el, 'aria-describedby')) referenced.add(id);
}
for (const err of document.querySelectorAll('form .error, form .field-error, [id$="-error"]')) {
  if (err.getAttribute('role') === 'alert' && !err.id.endsWith('-error')) continue;
  if (err.closest('[role=alert]') && err.id === '') continue;
  if (!err.id || !referenced.has(err.id)) {
    problems.push('error not tied to a field: ' + (err.id || err.textContent.trim().slice(0, 40)));
  }
}
const seen = new Set();
for (const el of document.querySelectorAll('[id]')) {
  if (seen.has(el.id)) problems.push('duplicate id: ' + el.id);
  seen.add(el.id);
}
for (const el of document.querySelectorAll('button, a[href]')) {
  const img = el.querySelector('img[alt]');
  const name = el.textContent.trim() || el.getAttribute('aria-label') || el.getAttribute('title')
    || (img && img.alt);
  if (!name) problems.push('no accessible name: ' + el.outerHTML.slice(0, 80));
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) problems.push('image without alt: ' + img.getAttribute('src'));
}
if (!document.documentElement.lang) problems.push('no lang on <html>');
if (document.title.trim() === '') problems.push('no <title>');
const width = document.documentElement.scrollWidth;
if (width > window.innerWidth) {
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 3)
    .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''));
  problems.push('horizontal overflow at ' + window.innerWidth + ' px: ' + width + ' px wide (' + wide.join(', ') + ')');
}
return problems;
"#;
