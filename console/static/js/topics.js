// Topic syntax, mirroring acl/topics.go (DESIGN section 3), for checks as
// the owner types. The server checks again when the document is saved.
//
//   topic   = domain "/" segment *( "/" segment ) [ "#" action ]
//   segment = 1*( ALPHA / DIGIT / "_" / "." / "-" )
//   pattern = "*" / topic / domain *( "/" segment ) "/*"

const maxTopicBytes = 256;
const segmentChar = /^[A-Za-z0-9_.-]$/;

// quoteChar writes a character the way Go's %q writes a rune.
function quoteChar(c) {
  if (c === "'") return "'\\''";
  if (c === "\\") return "'\\\\'";
  const n = c.codePointAt(0);
  if (n < 0x20 || n === 0x7f) return "'\\x" + n.toString(16).padStart(2, "0") + "'";
  return "'" + c + "'";
}

function checkSegment(seg) {
  for (const c of seg) {
    if (!segmentChar.test(c)) return `character ${quoteChar(c)} not allowed (use A-Z a-z 0-9 _ . -)`;
  }
  return "";
}

// reason returns why s is not a valid topic (pattern false) or topic
// permission pattern (pattern true), or "" when it is valid.
function reason(s, pattern) {
  if (s === "") return "empty";
  if (new TextEncoder().encode(s).length > maxTopicBytes) return `longer than ${maxTopicBytes} bytes`;
  if (pattern && s === "*") return "";
  const hash = s.indexOf("#");
  const path = hash < 0 ? s : s.slice(0, hash);
  const hasAction = hash >= 0;
  const action = hasAction ? s.slice(hash + 1) : "";
  if (!path.includes("/")) return "must be {domain}/{topic} or {domain}/{topic}#{action}";
  const segs = path.split("/");
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const first = i === 0;
    const last = i === segs.length - 1;
    if (seg === "") return "empty segment";
    if (pattern && seg === "*" && !first && last) {
      if (hasAction) return 'a pattern ending in "/*" cannot have an #action';
      continue;
    }
    if (pattern && seg === "*") return '"*" is only allowed alone or as the last segment';
    const r = checkSegment(seg);
    if (r) return r;
  }
  if (hasAction) {
    if (action === "") return "empty #action";
    const r = checkSegment(action);
    if (r) return "#action: " + r;
  }
  return "";
}

// topicError returns the message for an invalid event topic, "" if valid.
export function topicError(t) {
  const r = reason(t, false);
  return r ? `invalid topic ${JSON.stringify(t)}: ${r}` : "";
}

// patternError returns the message for an invalid permission pattern, ""
// if valid.
export function patternError(p) {
  const r = reason(p, true);
  return r ? `invalid topic pattern ${JSON.stringify(p)}: ${r}` : "";
}

// topicMatches reports whether a (valid) pattern covers a (valid) topic.
export function topicMatches(pattern, topic) {
  if (pattern === "*" || pattern === topic) return true;
  const hash = topic.indexOf("#");
  if (hash >= 0 && pattern === topic.slice(0, hash)) return true;
  if (pattern.endsWith("/*")) {
    const prefix = pattern.slice(0, -1);
    return topic.length > prefix.length && topic.startsWith(prefix);
  }
  return false;
}

// splitPatterns splits what the owner typed (commas, spaces or new lines
// between patterns) into patterns.
export function splitPatterns(text) {
  return text.split(/[\s,]+/).filter((p) => p !== "");
}
