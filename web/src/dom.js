// A small element builder: text always goes in as text (never parsed as HTML), so whatever a
// user typed cannot become markup.

/**
 * h('button', {type: 'button', onclick}, 'Send') → <button>. Attributes: `class`, `dataset`,
 * `on<event>` handlers, booleans (true sets, false/null/undefined omits), everything else as an
 * attribute. Children: strings, numbers, nodes, arrays, null/false (skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'value' && 'value' in element) {
      element.value = value;
    } else if (name === 'checked' || name === 'selected') {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces everything inside `element` with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A labelled form field: <label for=id>text</label><input id=id ...>. Returns [label, control]. */
export function field(labelText, control, hint) {
  const id = control.id || `field-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const parts = [h('label', { for: id }, labelText), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('div', { id: hintId, class: 'muted' }, hint));
  }
  return parts;
}

/** The first letter of a name, for avatars without a picture. */
export function initial(name) {
  return (name ?? '?').trim().charAt(0).toUpperCase() || '?';
}
