#include "policy/patterns.h"
#include "policy/valuechecks.h"

#include <QTest>

using namespace airlock::policy;

class TestPolicyPatterns : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void domainPatternCheck_data();
    void domainPatternCheck();
    void domainMatch_data();
    void domainMatch();
    void domainCovers_data();
    void domainCovers();
    void pathGlobCheck_data();
    void pathGlobCheck();
    void pathGlobMatch_data();
    void pathGlobMatch();
    void commandMatch_data();
    void commandMatch();
    void compoundCommands_data();
    void compoundCommands();
    void commandCovers_data();
    void commandCovers();
    void hostPaths_data();
    void hostPaths();
    void expandHome();
};

void TestPolicyPatterns::domainPatternCheck_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<bool>("valid");
    const auto row = [](const char *pattern, bool valid) { QTest::newRow(pattern) << QString::fromUtf8(pattern) << valid; };
    row("example.com", true);
    row("*.example.com", true);
    row("*", true);
    row("*:443", true);
    row("example.com:8443", true);
    row("localhost", true);
    row("10.0.0.1", true);
    row("xn--bcher-kva.example", true);
    row("*.", false);
    row("", false);
    row(".example.com", false);
    row("example.com.", false);
    row("a..b", false);
    row("a.*.com", false);
    row("*example.com", false);
    row("**.example.com", false);
    row("Example.com", false);
    row("exa_mple.com", false);
    row("-a.com", false);
    row("a-.com", false);
    row("example.com:0", false);
    row("example.com:65536", false);
    row("example.com:", false);
    row("example.com:http", false);
    row("https://example.com", false);
    row("example.com/path", false);
}

void TestPolicyPatterns::domainPatternCheck()
{
    QFETCH(QString, pattern);
    QFETCH(bool, valid);
    const auto reason = checkDomainPattern(pattern);
    QVERIFY2(reason.has_value() != valid, qPrintable(reason.value_or(QStringLiteral("accepted"))));
}

void TestPolicyPatterns::domainMatch_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("matches");
    const auto row = [](const char *pattern, const char *host, bool matches) {
        QTest::addRow("%s ~ %s", pattern, host) << QString::fromUtf8(pattern) << QString::fromUtf8(host) << matches;
    };
    row("example.com", "example.com", true);
    row("example.com", "EXAMPLE.com", true);
    row("example.com", "example.com:443", true);
    row("example.com", "www.example.com", false);
    row("example.com", "badexample.com", false);
    row("*.example.com", "api.example.com", true);
    row("*.example.com", "a.b.example.com", true);
    row("*.example.com", "example.com", false);
    row("*.example.com", "evilexample.com", false);
    row("*.example.com", "example.com.evil.net", false);
    row("example.com:443", "example.com:443", true);
    row("example.com:443", "example.com:80", false);
    row("example.com:443", "example.com", false);
    row("*", "anything.at.all", true);
    row("*", "", false);
    row("*:443", "x.org:443", true);
    row("*:443", "x.org:22", false);
}

void TestPolicyPatterns::domainMatch()
{
    QFETCH(QString, pattern);
    QFETCH(QString, host);
    QFETCH(bool, matches);
    QCOMPARE(matchDomain(pattern, host), matches);
}

void TestPolicyPatterns::domainCovers_data()
{
    QTest::addColumn<QString>("outer");
    QTest::addColumn<QString>("inner");
    QTest::addColumn<bool>("covers");
    const auto row = [](const char *outer, const char *inner, bool covers) {
        QTest::addRow("%s > %s", outer, inner) << QString::fromUtf8(outer) << QString::fromUtf8(inner) << covers;
    };
    row("*", "a.com", true);
    row("*", "*.a.com:443", true);
    row("*.a.com", "x.a.com", true);
    row("*.a.com", "*.x.a.com", true);
    row("*.a.com", "*.a.com", true);
    row("*.a.com", "a.com", false);
    row("a.com", "*.a.com", false);
    row("a.com", "a.com:443", true);
    row("a.com:443", "a.com", false);
    row("*.a.com", "*", false);
}

void TestPolicyPatterns::domainCovers()
{
    QFETCH(QString, outer);
    QFETCH(QString, inner);
    QFETCH(bool, covers);
    QCOMPARE(airlock::policy::domainCovers(outer, inner), covers);
    // Whatever a covered pattern matches, the covering one matches too (spot check on a sample host).
    if (covers && !inner.contains(u'*'))
        QVERIFY(matchDomain(outer, inner));
}

void TestPolicyPatterns::pathGlobCheck_data()
{
    QTest::addColumn<QString>("glob");
    QTest::addColumn<bool>("valid");
    const auto row = [](const char *glob, bool valid) { QTest::newRow(glob) << QString::fromUtf8(glob) << valid; };
    row("src/**", true);
    row("**/*.ts", true);
    row("/etc/**", true);
    row(".git/**", true);
    row("src/[abc]*.c", true);
    row("src/[!a-z]?", true);
    row("[]]x", true);
    row("**", true);
    row("", false);
    row("src/**x", false);
    row("a**/b", false);
    row("src/../x", false);
    row("./src", false);
    row("src//x", false);
    row("src/", false);
    row("/", false);
    row("src/[ab", false);
    row("src/[z-a]", false);
}

void TestPolicyPatterns::pathGlobCheck()
{
    QFETCH(QString, glob);
    QFETCH(bool, valid);
    const auto reason = checkPathGlob(glob);
    QVERIFY2(reason.has_value() != valid, qPrintable(reason.value_or(QStringLiteral("accepted"))));
}

void TestPolicyPatterns::pathGlobMatch_data()
{
    QTest::addColumn<QString>("glob");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("matches");
    const auto row = [](const char *glob, const char *path, bool matches) {
        QTest::addRow("%s ~ %s", glob, path) << QString::fromUtf8(glob) << QString::fromUtf8(path) << matches;
    };
    row("src/*.ts", "src/a.ts", true);
    row("src/*.ts", "src/sub/a.ts", false);
    row("src/**", "src/sub/a.ts", true);
    row("src/**", "src", false);
    row("src/**", "srcx/a", false);
    row("**/*.ts", "a.ts", true);
    row("**/*.ts", "x/y/a.ts", true);
    row("**/*.ts", "x/y/a.js", false);
    row("src/**/test/*.py", "src/test/a.py", true);
    row("src/**/test/*.py", "src/a/b/test/a.py", true);
    row("src/**/test/*.py", "src/a/b/test/x/a.py", false);
    row(".git/**", ".git/hooks/pre-commit", true);
    row(".git/**", "./.git/config", true);
    row(".git/**", "src/../.git/config", true);
    row("src/**", "src/../../etc/passwd", false);
    row("**", "../outside", false);
    row("/etc/**", "/etc/passwd", true);
    row("/etc/**", "etc/passwd", false);
    row("src/**", "/abs/src/x", false);
    row("?.md", "a.md", true);
    row("?.md", "ab.md", false);
    row("[ab].md", "b.md", true);
    row("[!ab].md", "c.md", true);
    row("[!ab].md", "a.md", false);
    row("*.md", "", false);
    row("a+b(c).txt", "a+b(c).txt", true);
}

void TestPolicyPatterns::pathGlobMatch()
{
    QFETCH(QString, glob);
    QFETCH(QString, path);
    QFETCH(bool, matches);
    QVERIFY(!checkPathGlob(glob));
    QCOMPARE(matchPathGlob(glob, path), matches);
}

void TestPolicyPatterns::commandMatch_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("command");
    QTest::addColumn<bool>("matches");
    const auto row = [](const char *pattern, const char *command, bool matches) {
        QTest::addRow("%s ~ %s", pattern, command) << QString::fromUtf8(pattern) << QString::fromUtf8(command) << matches;
    };
    row("npm test", "npm test", true);
    row("npm test", "npm test --watch", true);
    row("npm test", "npm testing", false);
    row("npm test", "npm  test", true);
    row("npm test", "  npm test\t-x", true);
    row("npm test", "npx npm test", false);
    row("npm test*", "npm testing", true);
    row("npm test*", "npm test", true);
    row("npm test*", "npm run test", false);
    row("git ?og", "git log", true);
    row("*", "anything at all", true);
    row("make [ab]", "make a", true);
    row("make [ab]", "make c", false);
    row("ls", "", false);
}

void TestPolicyPatterns::commandMatch()
{
    QFETCH(QString, pattern);
    QFETCH(QString, command);
    QFETCH(bool, matches);
    QVERIFY(!checkCommandPattern(pattern));
    QCOMPARE(matchCommand(pattern, command), matches);
}

void TestPolicyPatterns::compoundCommands_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<bool>("compound");
    QTest::addColumn<QStringList>("segments");
    QTest::newRow("simple") << "npm test -- --watch" << false << QStringList{"npm test -- --watch"};
    QTest::newRow("semicolon") << "npm test; curl x" << true << QStringList{"npm test", "curl x"};
    QTest::newRow("and") << "make && make install" << true << QStringList{"make", "make install"};
    QTest::newRow("pipe") << "cat a | sh" << true << QStringList{"cat a", "sh"};
    QTest::newRow("background") << "sleep 1 & rm -rf x" << true << QStringList{"sleep 1", "rm -rf x"};
    QTest::newRow("substitution") << "echo $(rm -rf x)" << true << QStringList{"echo", "rm -rf x"};
    QTest::newRow("backquote") << "echo `id`" << true << QStringList{"echo", "id"};
    QTest::newRow("newline") << "ls\nrm x" << true << QStringList{"ls", "rm x"};
    QTest::newRow("redirect") << "npm test > out.txt" << false << QStringList{"npm test > out.txt"};
}

void TestPolicyPatterns::compoundCommands()
{
    QFETCH(QString, command);
    QFETCH(bool, compound);
    QFETCH(QStringList, segments);
    QCOMPARE(isCompoundCommand(command), compound);
    QCOMPARE(commandSegments(command), segments);
}

void TestPolicyPatterns::commandCovers_data()
{
    QTest::addColumn<QString>("outer");
    QTest::addColumn<QString>("inner");
    QTest::addColumn<bool>("covers");
    const auto row = [](const char *outer, const char *inner, bool covers) {
        QTest::addRow("%s > %s", outer, inner) << QString::fromUtf8(outer) << QString::fromUtf8(inner) << covers;
    };
    row("npm", "npm test", true);
    row("npm", "npm test*", true);
    row("npm", "npmx", false);
    row("npm test", "npm", false);
    row("npm*", "npmx", true);
    row("npm*", "npm test*", true);
    row("npm t*", "npm", false);
    row("*", "rm -rf /", true);
    row("np?", "npm", false); // not understood, so not claimed
}

void TestPolicyPatterns::commandCovers()
{
    QFETCH(QString, outer);
    QFETCH(QString, inner);
    QFETCH(bool, covers);
    QCOMPARE(airlock::policy::commandCovers(outer, inner), covers);
}

void TestPolicyPatterns::hostPaths_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("valid");
    const auto row = [](const char *path, bool valid) { QTest::newRow(path) << QString::fromUtf8(path) << valid; };
    row("/data", true);
    row("~", true);
    row("~/.cache", true);
    row("$HOME", true);
    row("$HOME/x", true);
    row("${HOME}/x", true);
    row("/", true);
    row("data", false);
    row("~x", false);
    row("$HOMEX/y", false);
    row("/a/../b", false);
    row("/a//b", false);
    row("/a/b/", false);
    row("/a:b", false);
    row("", false);
}

void TestPolicyPatterns::hostPaths()
{
    QFETCH(QString, path);
    QFETCH(bool, valid);
    const auto reason = checkHostPath(path);
    QVERIFY2(reason.has_value() != valid, qPrintable(reason.value_or(QStringLiteral("accepted"))));
}

void TestPolicyPatterns::expandHome()
{
    QCOMPARE(expandHostPath(QStringLiteral("~/.ssh"), QStringLiteral("/home/dev")), QStringLiteral("/home/dev/.ssh"));
    QCOMPARE(expandHostPath(QStringLiteral("$HOME"), QStringLiteral("/home/dev")), QStringLiteral("/home/dev"));
    QCOMPARE(expandHostPath(QStringLiteral("${HOME}/a"), QStringLiteral("/home/dev/")), QStringLiteral("/home/dev/a"));
    QCOMPARE(expandHostPath(QStringLiteral("/opt/x"), QStringLiteral("/home/dev")), QStringLiteral("/opt/x"));
    QCOMPARE(homeRelativeForm(QStringLiteral("$HOME/.ssh")), QStringLiteral("~/.ssh"));
    QVERIFY(isSameOrUnder(u"/home/dev/.ssh/id", u"/home/dev/.ssh"));
    QVERIFY(isSameOrUnder(u"/home/dev", u"/home/dev"));
    QVERIFY(!isSameOrUnder(u"/home/dev2", u"/home/dev"));
    QVERIFY(isSameOrUnder(u"/anything", u"/"));
}

QTEST_GUILESS_MAIN(TestPolicyPatterns)
#include "tst_policy_patterns.moc"

