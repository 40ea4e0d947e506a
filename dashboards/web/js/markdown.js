// A tiny markdown renderer for the MQTT contract: headings, paragraphs, fenced code, tables,
// lists and quotes, with inline code, bold, italics and links. It parses into plain objects
// (testable in node) and builds DOM text nodes from them, so no markup in the document is ever
// interpreted as HTML.

const FENCE = /^(```|~~~)\s*([\w+-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

function cells(line) {
  let text = line.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  const out = [];
  let current = "";
  let inCode = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === "\\" && text[i + 1] === "|") {
      current += "|";
      i += 1;
    } else if (c === "`") {
      inCode = !inCode;
      current += c;
    } else if (c === "|" && !inCode) {
      out.push(current.trim());
      current = "";
    } else {
      current += c;
    }
  }
  out.push(current.trim());
  return out;
}

/** Markdown text → blocks: {type: heading|paragraph|code|table|list|quote|rule, ...}. */
export function parseBlocks(text) {
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      blocks.push({ type: "code", lang: fence[2], text: body.join("\n") });
      continue;
    }
    if (line.trim() === "") {
      i += 1;
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      blocks.push({ type: "heading", level: heading[1].length, text: heading[2] });
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push({ type: "rule" });
      i += 1;
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const header = cells(line);
      const rows = [];
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim() !== "") rows.push(cells(lines[i++]));
      blocks.push({ type: "table", header, rows });
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items = [];
      while (i < lines.length && lines[i].trim() !== "") {
        const item = lines[i].match(LIST_ITEM);
        if (item) items.push(item[3]);
        else if (items.length) items[items.length - 1] += ` ${lines[i].trim()}`;
        i += 1;
      }
      blocks.push({ type: "list", ordered, items });
      continue;
    }
    if (line.startsWith(">")) {
      const body = [];
      while (i < lines.length && lines[i].startsWith(">")) body.push(lines[i++].replace(/^>\s?/, ""));
      blocks.push({ type: "quote", text: body.join(" ") });
      continue;
    }
    const body = [];
    while (
      i < lines.length &&
      lines[i].trim() !== "" &&
      !FENCE.test(lines[i]) &&
      !HEADING.test(lines[i]) &&
      !(body.length && LIST_ITEM.test(lines[i]))
    ) {
      body.push(lines[i++].trim());
    }
    blocks.push({ type: "paragraph", text: body.join(" ") });
  }
  return blocks;
}

const INLINE = /(`+)([\s\S]*?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|(?<![\w])_([^_\s][^_]*)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Inline markdown → [{type: text|code|strong|em|link, text, href?}]. */
export function parseInline(text) {
  const out = [];
  let last = 0;
  for (const m of String(text).matchAll(INLINE)) {
    if (m.index > last) out.push({ type: "text", text: text.slice(last, m.index) });
    if (m[1]) out.push({ type: "code", text: m[2].trim() });
    else if (m[3] || m[4]) out.push({ type: "strong", text: m[3] || m[4] });
    else if (m[5] || m[6]) out.push({ type: "em", text: m[5] || m[6] });
    else out.push({ type: "link", text: m[7], href: m[8] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ type: "text", text: text.slice(last) });
  return out;
}

/** The anchor a heading gets, as GitHub makes them: "Why QoS 1" → "why-qos-1". */
export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\w\s-]/g, "")
    .trim()
    .replace(/\s/g, "-");
}

/** Only in-page anchors and http(s) links become links; anything else (javascript:...) is text. */
export function safeHref(href) {
  if (href.startsWith("#")) return href;
  return /^https?:\/\//i.test(href) ? href : null;
}

function inlineNodes(text, idPrefix) {
  return parseInline(text).map((part) => {
    if (part.type === "text") return document.createTextNode(part.text);
    const tag = { code: "code", strong: "strong", em: "em", link: "a" }[part.type];
    const node = document.createElement(tag);
    node.textContent = part.text;
    if (part.type === "link") {
      const href = safeHref(part.href);
      if (href === null) return document.createTextNode(part.text);
      node.setAttribute("href", href.startsWith("#") ? `#${idPrefix}${href.slice(1)}` : href);
      if (href.startsWith("#")) node.dataset.anchor = `${idPrefix}${href.slice(1)}`;
      else node.setAttribute("rel", "noopener noreferrer");
    }
    return node;
  });
}

function element(tag, children) {
  const node = document.createElement(tag);
  node.append(...children);
  return node;
}

/** Render markdown as DOM nodes inside a fresh <div>; heading ids get `idPrefix`. */
export function renderMarkdown(text, idPrefix = "md-") {
  const root = document.createElement("div");
  root.className = "markdown";
  for (const block of parseBlocks(text)) {
    if (block.type === "heading") {
      const node = element(`h${Math.min(6, block.level + 1)}`, inlineNodes(block.text, idPrefix));
      node.id = idPrefix + slug(block.text);
      root.append(node);
    } else if (block.type === "code") {
      const code = document.createElement("code");
      code.textContent = block.text;
      root.append(element("pre", [code]));
    } else if (block.type === "table") {
      const head = element("tr", block.header.map((c) => element("th", inlineNodes(c, idPrefix))));
      const rows = block.rows.map((r) => element("tr", r.map((c) => element("td", inlineNodes(c, idPrefix)))));
      const table = element("table", [element("thead", [head]), element("tbody", rows)]);
      const wrap = element("div", [table]);
      wrap.className = "table-wrap";
      root.append(wrap);
    } else if (block.type === "list") {
      const items = block.items.map((t) => element("li", inlineNodes(t, idPrefix)));
      root.append(element(block.ordered ? "ol" : "ul", items));
    } else if (block.type === "quote") {
      root.append(element("blockquote", inlineNodes(block.text, idPrefix)));
    } else if (block.type === "rule") {
      root.append(document.createElement("hr"));
    } else {
      root.append(element("p", inlineNodes(block.text, idPrefix)));
    }
  }
  // In-page links scroll instead of changing the hash, which is the dashboard's router.
  root.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[data-anchor]");
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById(link.dataset.anchor);
    if (target) target.scrollIntoView({ behavior: "smooth" });
  });
  return root;
}
