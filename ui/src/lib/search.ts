/** The pieces of a search hit's snippet: the node marks each matching word
 * between `«` and `»` (`zks_store::SNIPPET_OPEN`/`SNIPPET_CLOSE`). */

export const SNIPPET_OPEN = '«';
export const SNIPPET_CLOSE = '»';

/** A piece of a snippet, and whether it is a matching word. */
export interface SnippetPart {
  text: string;
  match: boolean;
}

/** Splits a snippet into plain text and matches (to draw the matches in
 * `<mark>`, never as HTML). A marker without its partner stays text. */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let rest = snippet;
  while (rest.length > 0) {
    const open = rest.indexOf(SNIPPET_OPEN);
    const close = open < 0 ? -1 : rest.indexOf(SNIPPET_CLOSE, open + 1);
    if (open < 0 || close < 0) {
      parts.push({ text: rest, match: false });
      break;
    }
    if (open > 0) parts.push({ text: rest.slice(0, open), match: false });
    if (close > open + 1) parts.push({ text: rest.slice(open + 1, close), match: true });
    rest = rest.slice(close + 1);
  }
  return parts;
}
