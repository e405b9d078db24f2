#pragma once

#include <QString>
#include <QStringList>

#include <optional>

// The small languages inside a policy: domain patterns, path globs and command patterns.
// Each check returns why a value is rejected (a message tail such as "'*.' is not a domain pattern"), or
// nothing when it is acceptable; the codec prefixes the JSON path. Matching assumes a checked pattern.

namespace airlock::policy {

// Domain patterns: `example.com` (that host only), `*.example.com` (any host below it, not the apex),
// `*` (any host), each with an optional port list: `:8443`, `:443,80`, or `:*` for every port.
// Lowercase ASCII labels; no trailing dot.
std::optional<QString> checkDomainPattern(QStringView pattern);
// host is `name` or `name:port`; a pattern with ports only matches a host given with one of them.
bool matchDomain(QStringView pattern, QStringView host);
// Whether a checked pattern's ports admit port. A pattern without ports admits every port, or, when
// portlessMeansWeb (egress allow rules), only 443 and 80.
bool patternAdmitsPort(QStringView pattern, int port, bool portlessMeansWeb);
// The host part of a checked pattern, without its ports.
QStringView domainPatternHost(QStringView pattern);
// True when every host the pattern `inner` matches is also matched by `outer`.
bool domainCovers(QStringView outer, QStringView inner);

// Path globs: `*` and `?` stay within one segment, `**` is a whole segment spanning any depth,
// `[abc]`/`[!a-z]` are classes. Relative globs are matched against workspace-relative paths.
std::optional<QString> checkPathGlob(QStringView glob);
bool matchPathGlob(QStringView glob, QStringView path);

// Command patterns: text without wildcards is a prefix that ends at a word boundary (`npm test` matches
// `npm test --watch` but not `npm testing`); with `*`, `?` or `[...]` it is a glob over the whole
// command line in which `*` spans spaces. Whitespace runs in the command are folded before matching.
std::optional<QString> checkCommandPattern(QStringView pattern);
bool isCommandGlob(QStringView pattern);
bool matchCommand(QStringView pattern, QStringView command);
// A command line that chains or nests commands (`;`, `&&`, `|`, `&`, newlines, `$(...)`, backquotes).
bool isCompoundCommand(QStringView command);
// The simple commands of a compound line, split at the chaining operators; conservative, quote-unaware.
QStringList commandSegments(QStringView command);
// Conservative subsumption for the linter: true only when every command (path) that `inner` matches is
// certainly matched by `outer` too. False negatives are fine, false positives are not.
bool commandCovers(QStringView outer, QStringView inner);
bool pathGlobCovers(QStringView outer, QStringView inner);

} // namespace airlock::policy
