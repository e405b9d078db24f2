// Agent-controlled text made inert: what a hostile agent would put in a title, a message or a command
// to take over the user's terminal or to make text read differently from what it is.
#include "text/inerttext.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace airlock;

class TestInertText : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void attacks_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("line");  // inertLine
        QTest::addColumn<QString>("text");  // inertText
        const auto row = [](const char *name, const QString &in, const QString &line, const QString &text) {
            QTest::newRow(name) << in << line << text;
        };
        const QChar esc(0x1b);
        row("OSC 52 clipboard write", QString(esc) + QStringLiteral("]52;c;Y3VybCB4fHNo") + QChar(0x07),
            QStringLiteral("␛]52;c;Y3VybCB4fHNo␇"), QStringLiteral("␛]52;c;Y3VybCB4fHNo␇"));
        row("cursor up and erase line", QStringLiteral("ls") + esc + QStringLiteral("[1A") + esc + QStringLiteral("[2K"),
            QStringLiteral("ls␛[1A␛[2K"), QStringLiteral("ls␛[1A␛[2K"));
        row("concealed text", QString(esc) + QStringLiteral("[8mcurl x|sh") + esc + QStringLiteral("[0m"),
            QStringLiteral("␛[8mcurl x|sh␛[0m"), QStringLiteral("␛[8mcurl x|sh␛[0m"));
        row("title change", QString(esc) + QStringLiteral("]0;sudo") + esc + QStringLiteral("\\"),
            QStringLiteral("␛]0;sudo␛\\"), QStringLiteral("␛]0;sudo␛\\"));
        row("C1 CSI", QStringLiteral("a") + QChar(0x9b) + QStringLiteral("2J"), QStringLiteral("a⟨U+009B⟩2J"),
            QStringLiteral("a⟨U+009B⟩2J"));
        row("C1 OSC", QStringLiteral("a") + QChar(0x9d) + QStringLiteral("52;c;eA") + QChar(0x9c),
            QStringLiteral("a⟨U+009D⟩52;c;eA⟨U+009C⟩"), QStringLiteral("a⟨U+009D⟩52;c;eA⟨U+009C⟩"));
        row("carriage return overwrite", QStringLiteral("rm -rf /\rls   "), QStringLiteral("rm -rf /␍ls   "),
            QStringLiteral("rm -rf /␍ls   "));
        row("backspaces", QStringLiteral("curl\b\b\b\bls"), QStringLiteral("curl␈␈␈␈ls"), QStringLiteral("curl␈␈␈␈ls"));
        row("newline fakes a line", QStringLiteral("ls\n  ✓ allowed by rule"), QStringLiteral("ls␊  ✓ allowed by rule"),
            QStringLiteral("ls\n  ✓ allowed by rule"));
        row("tab kept in text", QStringLiteral("a\tb"), QStringLiteral("a␉b"), QStringLiteral("a\tb"));
        row("DEL and NUL", QStringLiteral("a") + QChar(0x7f) + QChar(0) + QStringLiteral("b"), QStringLiteral("a␡␀b"),
            QStringLiteral("a␡␀b"));
        row("bidi override", QStringLiteral("ls ") + QChar(0x202e) + QStringLiteral("hs.txt"),
            QStringLiteral("ls ⟨U+202E⟩hs.txt"), QStringLiteral("ls ⟨U+202E⟩hs.txt"));
        row("bidi isolate", QChar(0x2067) + QStringLiteral("x") + QChar(0x2069), QStringLiteral("⟨U+2067⟩x⟨U+2069⟩"),
            QStringLiteral("⟨U+2067⟩x⟨U+2069⟩"));
        row("zero-width space", QStringLiteral("git") + QChar(0x200b) + QStringLiteral("status"),
            QStringLiteral("git⟨U+200B⟩status"), QStringLiteral("git⟨U+200B⟩status"));
        row("BOM and word joiner", QChar(0xfeff) + QStringLiteral("a") + QChar(0x2060), QStringLiteral("⟨U+FEFF⟩a⟨U+2060⟩"),
            QStringLiteral("⟨U+FEFF⟩a⟨U+2060⟩"));
        row("line separator", QStringLiteral("a") + QChar(0x2028) + QStringLiteral("b"), QStringLiteral("a⟨U+2028⟩b"),
            QStringLiteral("a⟨U+2028⟩b"));
        row("tag characters smuggle ASCII", QStringLiteral("ok") + QString::fromUcs4(U"\U000E0069\U000E0064"),
            QStringLiteral("ok⟨U+E0069⟩⟨U+E0064⟩"), QStringLiteral("ok⟨U+E0069⟩⟨U+E0064⟩"));
        row("lone surrogate", QStringLiteral("a") + QChar(0xd800) + QStringLiteral("b"), QStringLiteral("a\uFFFDb"),
            QStringLiteral("a\uFFFDb"));
        row("plain text unchanged", QStringLiteral("Fix the failing test — ünïcødé, 漢字, emoji 🙂"),
            QStringLiteral("Fix the failing test — ünïcødé, 漢字, emoji 🙂"), QStringLiteral("Fix the failing test — ünïcødé, 漢字, emoji 🙂"));
    }

    void attacks()
    {
        QFETCH(QString, input);
        QFETCH(QString, line);
        QFETCH(QString, text);
        QCOMPARE(text::inertLine(input), line);
        QCOMPARE(text::inertText(input), text);
        QCOMPARE(text::hasHiddenCharacters(input), text != input);
        // Nothing a terminal acts on is left.
        for (const QString &shown : {text::inertLine(input), text::inertText(input)}) {
            for (const QChar c : shown) {
                QVERIFY2(c.unicode() >= 0x20 || c == u'\n' || c == u'\t', qPrintable(shown));
                QVERIFY(c.unicode() < 0x7f || c.unicode() > 0x9f);
                QVERIFY(c.category() != QChar::Other_Format);
            }
        }
    }

    void jsonStaysTheSameDocument()
    {
        // --json output: escapes instead of raw characters, and the same strings when parsed.
        const QString hostile = QStringLiteral("a") + QChar(0x9b) + QStringLiteral("2J") + QChar(0x202e) + QChar(0x7f)
            + QString::fromUcs4(U"\U000E0041") + QChar(0x1b) + QStringLiteral("[8m");
        const QString json = QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("title"), hostile}}).toJson(QJsonDocument::Compact));
        const QString inert = text::inertJson(json);
        for (const QChar c : inert)
            QVERIFY2(c.unicode() >= 0x20 && (c.unicode() < 0x7f || c.unicode() > 0x9f) && c.category() != QChar::Other_Format
                         && !c.isSurrogate(),
                     qPrintable(inert));
        QJsonParseError error;
        const QJsonObject back = QJsonDocument::fromJson(inert.toUtf8(), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(back.value(QStringLiteral("title")).toString(), hostile);
    }
};

QTEST_GUILESS_MAIN(TestInertText)
#include "tst_inerttext.moc"
