// The words, colours and choices the server defines once (labweb/live/vocabulary.py), read from the page.

const block = document.getElementById("labweb-vocabulary");
export const vocabulary = block ? JSON.parse(block.textContent) : {};

// {label, colour} of a state in one of the vocabulary's families; an unknown state shows as itself, in grey.
export function stateLook(family, state) {
  const found = (vocabulary[family] || {})[state];
  return found || { label: String(state), colour: "grey" };
}
