// The machine pre-review of a script (B2), where the server has it (POST /prereview): its
// matches (start and end offsets into the text) highlighted in the text itself.

import { post } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

/** The matches for `text`, or null when the server has no pre-review (or it failed). */
export async function prereview(caps, text) {
  if (!caps.prereview) return null;
  try {
    const answer = await post("/prereview", { text });
    const matches = Array.isArray(answer) ? answer : answer?.matches;
    return Array.isArray(matches) ? matches : null;
  } catch {
    return null;
  }
}

/** The rule a match breaks, in words: the article of 《广告法》 and the kind of term. */
function ruleOf(m) {
  const kind = m.category ? t(`prereview.${m.category}`, {}, m.category) : "";
  return [m.article, kind].filter(Boolean).join(" · ");
}

/** The text with each match in a <mark> naming the term and the rule it breaks. Offsets are
 *  counted in characters (code points), as the server counts them. */
export function highlighted(text, matches) {
  const chars = Array.from(text);
  const sorted = [...matches]
    .filter((m) => Number.isInteger(m.start) && Number.isInteger(m.end) && m.end > m.start)
    .sort((a, b) => a.start - b.start);
  const parts = [];
  let at = 0;
  for (const m of sorted) {
    if (m.start < at) continue; // overlapping matches: the first one is shown
    parts.push(chars.slice(at, m.start).join(""));
    const why = [m.term, ruleOf(m)].filter(Boolean).join(" · ");
    parts.push(
      h(
        "mark",
        { title: why || t("order.prereviewMatch") },
        chars.slice(m.start, m.end).join(""),
      ),
    );
    at = m.end;
  }
  parts.push(chars.slice(at).join(""));
  const legend = sorted.length
    ? h(
        "ul",
        { class: "matches" },
        sorted.map((m) =>
          h("li", {}, h("mark", {}, chars.slice(m.start, m.end).join("")), " ", ruleOf(m)),
        ),
      )
    : null;
  return h("div", { class: "highlighted" }, h("pre", { class: "script" }, parts), legend);
}
