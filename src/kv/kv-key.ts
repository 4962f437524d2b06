import type { StringRule } from '../config/option-reader';

/**
 * What a KV key given to `config()`, `lock()` or `leader()` must be. Consul accepts any UTF-8
 * text, but a leading `/`, a `..` segment or a control character is always a mistake here (and a
 * control character would reach a log line), and an empty or `.` segment names another key on the
 * wire: Consul redirects `a//b` to `a/b` (307, which the client treats as a failure), and the URL
 * parser turns `a/./b` into `a/b` before the request leaves.
 */
export const KV_KEY_RULE: StringRule = {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  pattern: /^(?!\/)(?!.*\/\/)(?!(?:.*\/)?\.\.?(?:\/|$))[^\u0000-\u001f]+$/,
  rule: 'a Consul KV key (no leading /, no // or . or .. segment, no control characters)',
  maxLength: 512,
};
