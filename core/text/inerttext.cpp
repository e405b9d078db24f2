#include "text/inerttext.h"

namespace airlock::text {

namespace {

enum class Lines { Shown, Kept };

QString codePoint(char32_t c)
{
    return QStringLiteral("⟨U+%1⟩").arg(QString::number(qulonglong(c), 16).toUpper().rightJustified(4, u'0'));
}

// Characters that change how the text around them is laid out or read without being seen themselves.
bool isInvisibleFormat(char32_t c)
{
    if (c == 0x2028 || c == 0x2029) // line and paragraph separators: a line break for Qt and some terminals
        return true;
    if (c == 0x115f || c == 0x1160 || c == 0x3164 || c == 0xffa0) // Hangul fillers: blank but not space
        return true;
    if (c == 0x034f) // combining grapheme joiner
        return true;
    // Cf covers bidi embeddings, overrides and isolates, the zero-width space and joiners, the word
    // joiner, the BOM, soft hyphen, tag characters (which can smuggle ASCII) and interlinear annotations.
    return QChar::category(c) == QChar::Other_Format;
}

// Returns the visible form of one control character, or an empty string when it may pass as is.
QString replacement(char32_t c, Lines lines)
{
    if (c < 0x20) {
        if (lines == Lines::Kept && (c == u'\n' || c == u'\t'))
            return {};
        return QString(QChar(char16_t(0x2400 + c))); // the Control Pictures block: ␀ … ␟, ␛ for ESC
    }
    if (c == 0x7f)
        return QStringLiteral("␡");
    if (c >= 0x80 && c <= 0x9f) // C1 controls: CSI (0x9b) and OSC (0x9d) in a single byte
        return codePoint(c);
    if (isInvisibleFormat(c))
        return codePoint(c);
    return {};
}

QString render(QStringView text, Lines lines)
{
    QString out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar ch = text.at(i);
        char32_t c = ch.unicode();
        qsizetype width = 1;
        if (ch.isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate()) {
            c = QChar::surrogateToUcs4(ch, text.at(i + 1));
            width = 2;
        } else if (ch.isSurrogate()) {
            out += QChar(QChar::ReplacementCharacter); // half a pair: what it would pair with is unknown
            continue;
        }
        const QString visible = replacement(c, lines);
        if (visible.isEmpty())
            out += text.mid(i, width);
        else
            out += visible;
        i += width - 1;
    }
    return out;
}

} // namespace

QString inertLine(QStringView text)
{
    return render(text, Lines::Shown);
}

QString inertText(QStringView text)
{
    return render(text, Lines::Kept);
}

QString inertJson(QStringView json)
{
    QString out;
    out.reserve(json.size());
    for (qsizetype i = 0; i < json.size(); ++i) {
        const QChar ch = json.at(i);
        char32_t c = ch.unicode();
        qsizetype width = 1;
        if (ch.isHighSurrogate() && i + 1 < json.size() && json.at(i + 1).isLowSurrogate()) {
            c = QChar::surrogateToUcs4(ch, json.at(i + 1));
            width = 2;
        }
        const bool escape = ch.isSurrogate() && width == 1 ? true : !replacement(c, Lines::Kept).isEmpty();
        if (!escape) {
            out += json.mid(i, width);
        } else {
            for (qsizetype k = 0; k < width; ++k)
                out += QStringLiteral("\\u%1").arg(json.at(i + k).unicode(), 4, 16, QLatin1Char('0'));
        }
        i += width - 1;
    }
    return out;
}

bool hasHiddenCharacters(QStringView text)
{
    return render(text, Lines::Kept) != text;
}

} // namespace airlock::text
