#include "policy/patterns.h"

#include "policy/valuechecks.h"

#include <QDir>
#include <QRegularExpression>

namespace airlock::policy {

namespace {

QString quoted(QStringView text)
{
    return u'\'' + text.toString() + u'\'';
}

bool isAllDigits(QStringView text)
{
    if (text.isEmpty())
        return false;
    for (const QChar c : text) {
        if (c < u'0' || c > u'9')
            return false;
    }
    return true;
}

struct HostPort {
    QStringView host;
    QStringView port; // empty when none was given
};

HostPort splitPort(QStringView text)
{
    const qsizetype colon = text.lastIndexOf(u':');
    // More than one colon without brackets is a bare IPv6 address, which has no port.
    if (colon < 0 || text.indexOf(u':') != colon)
        return {text, {}};
    return {text.left(colon), text.mid(colon + 1)};
}

std::optional<QString> checkLabel(QStringView label)
{
    if (label.isEmpty())
        return QString();
    if (label.contains(u'*'))
        return QStringLiteral("'*' may only be the whole leftmost label");
    if (label.size() > 63)
        return QStringLiteral("a label is longer than 63 characters");
    for (const QChar c : label) {
        if (c >= u'A' && c <= u'Z')
            return QStringLiteral("use lowercase");
        const bool ok = (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9') || c == u'-';
        if (!ok)
            return QString();
    }
    if (label.startsWith(u'-') || label.endsWith(u'-'))
        return QStringLiteral("a label cannot start or end with '-'");
    return std::nullopt;
}

// Translates one glob into a regular expression body. In path mode `*` and `?` stop at '/'.
std::optional<QString> translateGlob(QStringView glob, bool pathMode, QString *error)
{
    QString re;
    const QString any = pathMode ? QStringLiteral("[^/]") : QStringLiteral(".");
    for (qsizetype i = 0; i < glob.size(); ++i) {
        const QChar c = glob.at(i);
        if (c == u'*') {
            re += any + u'*';
        } else if (c == u'?') {
            re += any;
        } else if (c == u'[') {
            qsizetype j = i + 1;
            bool negate = false;
            if (j < glob.size() && (glob.at(j) == u'!' || glob.at(j) == u'^')) {
                negate = true;
                ++j;
            }
            const qsizetype contentStart = j;
            if (j < glob.size() && glob.at(j) == u']')
                ++j; // a leading ']' is a member, not the end
            while (j < glob.size() && glob.at(j) != u']')
                ++j;
            if (j >= glob.size()) {
                *error = QStringLiteral("'[' is never closed");
                return std::nullopt;
            }
            QString cls = negate ? QStringLiteral("[^") : QStringLiteral("[");
            if (negate && pathMode)
                cls += u'/';
            for (const QChar m : glob.mid(contentStart, j - contentStart)) {
                if (m == u'\\' || m == u'[' || m == u']' || m == u'^')
                    cls += u'\\';
                cls += m;
            }
            re += cls + u']';
            i = j;
        } else {
            re += QRegularExpression::escape(QString(c));
        }
    }
    return re;
}

std::optional<QRegularExpression> compileGlob(QStringView glob, bool pathMode, QString *error)
{
    QString body;
    if (!pathMode) {
        auto translated = translateGlob(glob, false, error);
        if (!translated)
            return std::nullopt;
        body = *translated;
    } else {
        const QStringList segments = glob.toString().split(u'/');
        bool afterDoubleStar = false;
        for (qsizetype i = 0; i < segments.size(); ++i) {
            const QString &segment = segments.at(i);
            const bool last = i == segments.size() - 1;
            const QString separator = (i > 0 && !afterDoubleStar) ? QStringLiteral("/") : QString();
            if (segment == u"**") {
                body += separator + (last ? QStringLiteral(".*") : QStringLiteral("(?:[^/]+/)*"));
                afterDoubleStar = true;
                continue;
            }
            auto translated = translateGlob(segment, true, error);
            if (!translated)
                return std::nullopt;
            body += separator + *translated;
            afterDoubleStar = false;
        }
    }
    QRegularExpression re(QRegularExpression::anchoredPattern(body));
    if (!re.isValid()) {
        *error = QStringLiteral("bad character class (") + re.errorString() + u')';
        return std::nullopt;
    }
    return re;
}

QString foldWhitespace(QStringView text)
{
    return text.toString().simplified();
}

// The text before the first wildcard of a command glob.
QStringView literalHead(QStringView pattern)
{
    qsizetype i = 0;
    while (i < pattern.size() && pattern.at(i) != u'*' && pattern.at(i) != u'?' && pattern.at(i) != u'[')
        ++i;
    return pattern.left(i);
}

bool hasPathWildcard(QStringView glob)
{
    return glob.contains(u'*') || glob.contains(u'?') || glob.contains(u'[');
}

// True when the port part of a pattern ("443", "443,80", "*") admits port; an empty part admits any.
bool portListAdmits(QStringView list, QStringView port)
{
    if (list.isEmpty() || list == u"*")
        return true;
    for (const QStringView p : list.split(u','))
        if (p == port)
            return true;
    return false;
}

} // namespace

bool patternAdmitsPort(QStringView pattern, int port, bool portlessMeansWeb)
{
    const auto [host, ports] = splitPort(pattern);
    if (ports.isEmpty())
        return !portlessMeansWeb || port == 443 || port == 80;
    return portListAdmits(ports, QString::number(port));
}

QStringView domainPatternHost(QStringView pattern)
{
    return splitPort(pattern).host;
}

std::optional<QString> checkDomainPattern(QStringView pattern)
{
    const auto bad = [&](const QString &reason) -> QString {
        QString message = quoted(pattern) + QStringLiteral(" is not a domain pattern");
        if (!reason.isEmpty())
            message += QStringLiteral(": ") + reason;
        return message;
    };
    if (pattern.isEmpty())
        return QStringLiteral("a domain pattern cannot be empty");
    const auto [hostPart, port] = splitPort(pattern);
    if (hostPart.size() != pattern.size() && port != u"*") {
        QList<int> seen;
        for (const QStringView one : port.split(u',')) {
            const int number = isAllDigits(one) && one.size() <= 5 ? one.toInt() : 0;
            if (number < 1 || number > 65535)
                return bad(QStringLiteral("a port must be a number from 1 to 65535 (several: ':443,8443'; "
                                          "every port: ':*')"));
            if (seen.contains(number))
                return bad(QStringLiteral("port %1 is listed twice").arg(number));
            seen.append(number);
        }
    }
    QStringView host = hostPart;
    if (host == u"*")
        return std::nullopt;
    if (host.startsWith(u"*."))
        host = host.mid(2);
    if (host.isEmpty())
        return bad({});
    if (host.size() > 253)
        return bad(QStringLiteral("longer than 253 characters"));
    for (const QStringView label : host.split(u'.')) {
        if (auto reason = checkLabel(label))
            return bad(*reason);
    }
    return std::nullopt;
}

bool matchDomain(QStringView pattern, QStringView host)
{
    const auto [patternHost, patternPort] = splitPort(pattern);
    const auto [name, port] = splitPort(host);
    if (!patternPort.isEmpty() && !portListAdmits(patternPort, port))
        return false;
    const QString lowered = name.toString().toLower();
    if (patternHost == u"*")
        return !lowered.isEmpty();
    if (patternHost.startsWith(u"*."))
        return lowered.endsWith(patternHost.mid(1).toString());
    return lowered == patternHost;
}

bool domainCovers(QStringView outer, QStringView inner)
{
    const auto [outerHost, outerPort] = splitPort(outer);
    const auto [innerHost, innerPort] = splitPort(inner);
    if (!outerPort.isEmpty() && outerPort != u"*") {
        if (innerPort.isEmpty() || innerPort == u"*")
            return false;
        for (const QStringView p : innerPort.split(u','))
            if (!portListAdmits(outerPort, p))
                return false;
    }
    if (outerHost == u"*")
        return true;
    if (innerHost == u"*")
        return false;
    if (!outerHost.startsWith(u"*."))
        return innerHost == outerHost;
    const QStringView suffix = outerHost.mid(1); // ".example.com"
    const QStringView innerName = innerHost.startsWith(u"*.") ? innerHost.mid(2) : innerHost;
    return innerName.endsWith(suffix) || (innerHost.startsWith(u"*.") && innerName == suffix.mid(1));
}

std::optional<QString> checkPathGlob(QStringView glob)
{
    if (glob.isEmpty())
        return QStringLiteral("a path glob cannot be empty");
    if (hasControlCharacters(glob))
        return quoted(glob) + QStringLiteral(" contains control characters");
    if (glob == u"/" || (glob.size() > 1 && glob.endsWith(u'/')))
        return quoted(glob) + QStringLiteral(" must not end with '/'");
    const QStringList segments = glob.toString().split(u'/');
    for (qsizetype i = 0; i < segments.size(); ++i) {
        const QString &segment = segments.at(i);
        if (segment.isEmpty() && i > 0)
            return quoted(glob) + QStringLiteral(" has an empty path segment");
        if (segment == u".." || segment == u".")
            return quoted(glob) + QStringLiteral(" must not contain '.' or '..' segments");
        if (segment != u"**" && segment.contains(u"**"))
            return quoted(glob) + QStringLiteral(" is not a path glob: '**' must be a whole path segment");
    }
    QString error;
    if (!compileGlob(glob, true, &error))
        return quoted(glob) + QStringLiteral(" is not a path glob: ") + error;
    return std::nullopt;
}

bool matchPathGlob(QStringView glob, QStringView path)
{
    if (path.isEmpty())
        return false;
    const QString clean = QDir::cleanPath(path.toString());
    const bool absoluteGlob = glob.startsWith(u'/');
    if (absoluteGlob != clean.startsWith(u'/'))
        return false;
    if (clean == u".." || clean.startsWith(u"../"))
        return false; // escapes the workspace, so no workspace-relative glob may claim it
    QString error;
    const auto re = compileGlob(glob, true, &error);
    return re && re->match(clean).hasMatch();
}

bool pathGlobCovers(QStringView outer, QStringView inner)
{
    if (outer == inner)
        return true;
    if (outer.startsWith(u'/') != inner.startsWith(u'/'))
        return false;
    if (outer == u"**" || outer == u"/**")
        return true;
    if (!hasPathWildcard(inner))
        return matchPathGlob(outer, inner);
    if (outer.endsWith(u"/**")) {
        const QStringView base = outer.chopped(3);
        if (!hasPathWildcard(base))
            return isSameOrUnder(inner, base) && inner != base;
    }
    return false;
}

std::optional<QString> checkCommandPattern(QStringView pattern)
{
    if (pattern.trimmed().isEmpty())
        return QStringLiteral("a command pattern cannot be empty");
    if (hasControlCharacters(pattern))
        return quoted(pattern) + QStringLiteral(" contains control characters");
    if (pattern != foldWhitespace(pattern))
        return quoted(pattern) + QStringLiteral(" has leading, trailing or repeated spaces");
    QString error;
    if (isCommandGlob(pattern) && !compileGlob(pattern, false, &error))
        return quoted(pattern) + QStringLiteral(" is not a command pattern: ") + error;
    return std::nullopt;
}

bool isCommandGlob(QStringView pattern)
{
    return hasPathWildcard(pattern);
}

bool matchCommand(QStringView pattern, QStringView command)
{
    const QString folded = foldWhitespace(command);
    if (folded.isEmpty())
        return false;
    if (!isCommandGlob(pattern))
        return folded == pattern || folded.startsWith(pattern.toString() + u' ');
    QString error;
    const auto re = compileGlob(pattern, false, &error);
    return re && re->match(folded).hasMatch();
}

bool isCompoundCommand(QStringView command)
{
    for (const QChar c : command) {
        if (c == u';' || c == u'&' || c == u'|' || c == u'\n' || c == u'\r' || c == u'`')
            return true;
    }
    return command.contains(u"$(") || command.contains(u"<(") || command.contains(u">(");
}

QStringList commandSegments(QStringView command)
{
    static const QRegularExpression separators(QStringLiteral("[;&|\\n\\r`]+|\\$\\(|[<>]\\(|\\)"));
    QStringList segments;
    for (const QString &part : command.toString().split(separators)) {
        const QString folded = foldWhitespace(part);
        if (!folded.isEmpty())
            segments << folded;
    }
    return segments;
}

bool commandCovers(QStringView outer, QStringView inner)
{
    if (outer == inner || outer == u"*")
        return true;
    const bool outerGlob = isCommandGlob(outer);
    const bool innerGlob = isCommandGlob(inner);
    if (!outerGlob) {
        const QString boundary = outer.toString() + u' ';
        // A prefix covers any pattern whose commands all start with it at a word boundary.
        return innerGlob ? literalHead(inner).startsWith(boundary) : inner.startsWith(boundary);
    }
    // Only the common `head*` shape is understood; anything fancier is not claimed.
    const QStringView head = literalHead(outer);
    if (outer.size() != head.size() + 1 || !outer.endsWith(u'*'))
        return false;
    return innerGlob ? literalHead(inner).startsWith(head) : inner.startsWith(head);
}

} // namespace airlock::policy
