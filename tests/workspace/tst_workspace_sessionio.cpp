// Session export (JSON and Markdown) and the strict import: malformed, truncated and oversized
// files are refused whole, and nothing of them reaches the store.
#include "workspace/checkpointer.h"
#include "workspace/sessionexport.h"
#include "workspacetestutil.h"

#include <QBuffer>
#include <QJsonArray>
#include <QJsonDocument>

using namespace airlock;
using namespace airlock::workspace;
using airlock::test::put;

class TestSessionIo : public QObject
{
    Q_OBJECT

    // A session with a bit of everything, and one real checkpoint.
    static void populate(test::Bench &b)
    {
        auto add = [&](const char *kind, const QJsonObject &p) { QVERIFY(b.store->append(QStringLiteral("s1"), QLatin1String(kind), p)); };
        add("session.state", {{QStringLiteral("state"), QStringLiteral("running")}});
        add("user.message", {{QStringLiteral("text"), QStringLiteral("Fix the <b>flaky</b> test")}});
        add("agent.message", {{QStringLiteral("text"), QStringLiteral("I'll run it in a loop.")}});
        add("tool.call", {{QStringLiteral("kind"), QStringLiteral("execute")},
                          {QStringLiteral("toolCallId"), QStringLiteral("tc_1")},
                          {QStringLiteral("command"), QStringLiteral("npm test ```weird``` --repeat 20")},
                          {QStringLiteral("status"), QStringLiteral("completed")},
                          {QStringLiteral("output"), QStringLiteral("20 passing")}});
        add("approval.decided", {{QStringLiteral("decision"), QStringLiteral("allow")},
                                 {QStringLiteral("by"), QStringLiteral("dev")},
                                 {QStringLiteral("rule"), 3}});
        add("sandbox.started", {{QStringLiteral("backend"), QStringLiteral("local")}});
        QVERIFY(b.store->flush());
        QVERIFY(put(b.ws(QStringLiteral("test.js")), "expect(a).toBe(1);\n"));
        Checkpointer c(*b.store);
        QVERIFY(c.create(CheckpointRequest{QStringLiteral("s1"), Cause::Start}));
        QVERIFY(put(b.ws(QStringLiteral("test.js")), "expect(a).toBe(2);\n"));
        CheckpointRequest req{QStringLiteral("s1"), Cause::ToolCall};
        req.toolCallId = QStringLiteral("tc_2");
        QVERIFY(c.create(req));
    }

    static QByteArray exportJson(test::Bench &b, const QString &session = QStringLiteral("s1"))
    {
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        auto r = exportSessionJson(b.db, session, &buf);
        if (!r)
            qWarning() << r.error().message;
        return buf.data();
    }

    static QByteArray minimal(const QJsonArray &events, const QJsonObject &extraTop = {})
    {
        QJsonObject top{{QStringLiteral("format"), QStringLiteral("airlock-session")},
                        {QStringLiteral("version"), 1},
                        {QStringLiteral("session"), QJsonObject{{QStringLiteral("id"), QStringLiteral("imp")}}},
                        {QStringLiteral("events"), events}};
        for (auto it = extraTop.begin(); it != extraTop.end(); ++it)
            top.insert(it.key(), it.value());
        return QJsonDocument(top).toJson(QJsonDocument::Compact);
    }

    static QJsonObject ev(qint64 seq, const QString &kind, const QJsonValue &payload = QJsonObject())
    {
        return {{QStringLiteral("seq"), seq}, {QStringLiteral("time"), 1700000000000 + seq}, {QStringLiteral("kind"), kind},
                {QStringLiteral("payload"), payload}};
    }

    static qint64 eventCount(const QString &db)
    {
        auto reader = store::StoreReader::open(db);
        return reader ? reader->lastSeq().value_or(-1) : -1;
    }

private Q_SLOTS:
    void roundTrip()
    {
        test::Bench b;
        populate(b);
        const QByteArray json = exportJson(b);
        const QJsonObject doc = QJsonDocument::fromJson(json).object();
        QCOMPARE(doc[QStringLiteral("format")].toString(), QStringLiteral("airlock-session"));
        QCOMPARE(doc[QStringLiteral("version")].toInt(), 1);
        QCOMPARE(doc[QStringLiteral("session")][QStringLiteral("id")].toString(), QStringLiteral("s1"));
        const auto original = b.events(QStringLiteral("s1"));
        QCOMPARE(doc[QStringLiteral("events")].toArray().size(), original.size());

        test::Bench other{QString()};
        auto r = importSessionData(*other.store, json, QStringLiteral("s1.json"));
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->session, QStringLiteral("s1"));
        QVERIFY(!r->renamed);
        QCOMPARE(r->events, original.size());
        const auto imported = other.events(QStringLiteral("s1"));
        QCOMPARE(imported.size(), original.size() + 1);
        for (int i = 0; i < original.size(); ++i) {
            QCOMPARE(imported[i].kind, original[i].kind);
            QCOMPARE(imported[i].payload, original[i].payload);
        }
        const QJsonObject summary = imported.last().payload;
        QCOMPARE(imported.last().kind, QLatin1String(kSessionImported));
        QCOMPARE(summary[QStringLiteral("from")].toString(), QStringLiteral("s1"));
        QCOMPARE(summary[QStringLiteral("firstTime")].toInteger(), original.first().time);
        QCOMPARE(summary[QStringLiteral("lastSeq")].toInteger(), original.last().seq);
        auto reader = store::StoreReader::open(other.db);
        const auto row = reader->session(QStringLiteral("s1")).value();
        QVERIFY(row);
        QCOMPARE(row->title, QStringLiteral("Session s1"));
        QCOMPARE(row->state, QStringLiteral("running"));
        // Re-exporting the import gives the same events back.
        const QJsonArray again = QJsonDocument::fromJson(exportJson(other)).object()[QStringLiteral("events")].toArray();
        QCOMPARE(again.size(), original.size() + 1);
    }

    void clashingIdsGetNewOnes()
    {
        test::Bench b;
        populate(b);
        const QByteArray json = exportJson(b);
        const qint64 before = eventCount(b.db);
        auto r = importSessionData(*b.store, json, QStringLiteral("x.json"));
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->session, QStringLiteral("s1-imported"));
        QVERIFY(r->renamed);
        r = importSessionData(*b.store, json, QStringLiteral("x.json"));
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->session, QStringLiteral("s1-imported-2"));
        ImportOptions as;
        as.asSession = QStringLiteral("chosen");
        r = importSessionData(*b.store, json, QStringLiteral("x.json"), as);
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->session, QStringLiteral("chosen"));
        const qint64 afterThree = eventCount(b.db);
        QVERIFY(afterThree > before);
        // An explicit id that is taken is an error, not a rename.
        r = importSessionData(*b.store, json, QStringLiteral("x.json"), as);
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QStringLiteral("exists already")));
        QCOMPARE(eventCount(b.db), afterThree);
        // The original is untouched.
        QCOMPARE(b.events(QStringLiteral("s1")).size(), QJsonDocument::fromJson(json).object()[QStringLiteral("events")].toArray().size());
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<QString>("needle");
        const QJsonObject created = ev(1, QStringLiteral("session.created"));
        QTest::newRow("empty file") << QByteArray() << QStringLiteral("not valid JSON");
        QTest::newRow("not JSON") << QByteArray("hello") << QStringLiteral("not valid JSON");
        QTest::newRow("array at the top") << QByteArray("[]") << QStringLiteral("top level is not an object");
        QTest::newRow("wrong format") << QByteArray(R"({"format":"other","version":1})") << QStringLiteral("'format'");
        QTest::newRow("newer version") << minimal({created}, {{QStringLiteral("version"), 2}}) << QStringLiteral("format version 2");
        QTest::newRow("version as text") << minimal({created}, {{QStringLiteral("version"), QStringLiteral("1")}}) << QStringLiteral("'version'");
        QTest::newRow("fractional version") << minimal({created}, {{QStringLiteral("version"), 1.5}}) << QStringLiteral("'version'");
        QTest::newRow("unknown top field") << minimal({created}, {{QStringLiteral("extra"), 1}}) << QStringLiteral("unknown field 'extra'");
        QTest::newRow("session not an object") << minimal({created}, {{QStringLiteral("session"), 3}}) << QStringLiteral("'session' must");
        QTest::newRow("bad session id") << minimal({created}, {{QStringLiteral("session"), QJsonObject{{QStringLiteral("id"), QStringLiteral("../x")}}}})
                                        << QStringLiteral("session.id");
        QTest::newRow("unknown session field") << minimal({created}, {{QStringLiteral("session"), QJsonObject{{QStringLiteral("id"), QStringLiteral("a")}, {QStringLiteral("evil"), 1}}}})
                                               << QStringLiteral("unknown field 'evil' in 'session'");
        QTest::newRow("session title a number") << minimal({created}, {{QStringLiteral("session"), QJsonObject{{QStringLiteral("id"), QStringLiteral("a")}, {QStringLiteral("title"), 1}}}})
                                                << QStringLiteral("session.title");
        QTest::newRow("events missing") << QByteArray(R"({"format":"airlock-session","version":1,"session":{"id":"a"}})") << QStringLiteral("'events' must be an array");
        QTest::newRow("no events") << minimal({}) << QStringLiteral("no events");
        QTest::newRow("event not an object") << minimal({created, 5}) << QStringLiteral("event 2: must be an object");
        QTest::newRow("unknown event field") << minimal({created, QJsonObject{{QStringLiteral("seq"), 2}, {QStringLiteral("x"), 1}}})
                                             << QStringLiteral("event 2: unknown field 'x'");
        QTest::newRow("seq going back") << minimal({created, ev(1, QStringLiteral("a.b"))}) << QStringLiteral("'seq'");
        QTest::newRow("seq fractional") << minimal({created, QJsonObject{{QStringLiteral("seq"), 2.5}, {QStringLiteral("time"), 1}, {QStringLiteral("kind"), QStringLiteral("a.b")}, {QStringLiteral("payload"), QJsonObject()}}})
                                        << QStringLiteral("'seq'");
        QTest::newRow("negative time") << minimal({created, QJsonObject{{QStringLiteral("seq"), 2}, {QStringLiteral("time"), -1}, {QStringLiteral("kind"), QStringLiteral("a.b")}, {QStringLiteral("payload"), QJsonObject()}}})
                                       << QStringLiteral("'time'");
        QTest::newRow("bad kind") << minimal({created, ev(2, QStringLiteral("Not A Kind"))}) << QStringLiteral("'kind'");
        QTest::newRow("payload an array") << minimal({created, ev(2, QStringLiteral("a.b"), QJsonArray{1})}) << QStringLiteral("'payload' must be an object");
        QTest::newRow("first is not session.created") << minimal({ev(1, QStringLiteral("a.b"))}) << QStringLiteral("first event must be session.created");
        QTest::newRow("second session.created") << minimal({created, ev(2, QStringLiteral("session.created"))}) << QStringLiteral("second session.created");
        QTest::newRow("policy.saved") << minimal({created, ev(2, QStringLiteral("policy.saved"))}) << QStringLiteral("policy.saved");
        QTest::newRow("payload over the limit")
            << minimal({created, ev(2, QStringLiteral("a.b"), QJsonObject{{QStringLiteral("blob"), QString(store::kMaxPayloadBytes + 10, u'x')}})})
            << QStringLiteral("the limit is");
        // Valid as far as the file goes, but the store itself refuses it: the dry run finds out first.
        QTest::newRow("store refuses an event") << minimal({created, ev(2, QStringLiteral("agent.message")), ev(3, QStringLiteral("permission.requested"))})
                                                << QStringLiteral("event 3 (seq 3) would be refused by the store");
        QByteArray deep = QByteArray("[").repeated(5000) + QByteArray("]").repeated(5000);
        QTest::newRow("nesting bomb") << deep << QStringLiteral("not valid JSON");
        QTest::newRow("binary garbage") << QByteArray("\0\xff\xfe{\"format\"", 12) << QStringLiteral("not valid JSON");
    }

    void malformed()
    {
        QFETCH(QByteArray, data);
        QFETCH(QString, needle);
        test::Bench b{QString()};
        auto r = importSessionData(*b.store, data, QStringLiteral("bad.json"));
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains(needle), qPrintable(r.error().message));
        QVERIFY2(r.error().message.startsWith(QStringLiteral("bad.json: ")), qPrintable(r.error().message));
        QVERIFY(r.error().message.endsWith(QStringLiteral("Nothing was imported.")));
        QCOMPARE(eventCount(b.db), 0);
    }

    void truncatedAnywhere()
    {
        test::Bench b;
        populate(b);
        const QByteArray json = exportJson(b);
        test::Bench other{QString()};
        int refused = 0;
        // Every cut of the file short of its closing brace is refused, and none leaves a trace.
        for (qsizetype cut = 0; cut < json.size() - 2; cut += std::max<qsizetype>(1, json.size() / 97)) {
            auto r = importSessionData(*other.store, json.left(cut), QStringLiteral("cut.json"));
            QVERIFY2(!r, qPrintable(QStringLiteral("a file cut at %1 of %2 bytes was accepted").arg(cut).arg(json.size())));
            ++refused;
        }
        QVERIFY(refused > 90);
        QCOMPARE(eventCount(other.db), 0);
    }

    void oversized()
    {
        test::Bench b;
        populate(b);
        const QByteArray json = exportJson(b);
        test::Bench other{QString()};
        ImportOptions small;
        small.maxBytes = json.size() - 1;
        auto r = importSessionData(*other.store, json, QStringLiteral("big.json"), small);
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains(QStringLiteral("at most")), qPrintable(r.error().message));
        ImportOptions few;
        few.maxEvents = 3;
        r = importSessionData(*other.store, json, QStringLiteral("big.json"), few);
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains(QStringLiteral("events; an import takes at most 3")), qPrintable(r.error().message));
        // The file path route checks the size before reading it all.
        const QString file = other.dir.filePath(QStringLiteral("big.json"));
        QVERIFY(put(file, json));
        r = importSession(*other.store, file, small);
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QStringLiteral("bytes; an import takes at most")));
        r = importSession(*other.store, other.dir.filePath(QStringLiteral("missing.json")));
        QVERIFY(!r);
        QCOMPARE(r.error().code, ErrorCode::NotFound);
        QCOMPARE(eventCount(other.db), 0);
    }

    void markdownTranscript()
    {
        test::Bench b;
        populate(b);
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        AIRLOCK_VERIFY_RESULT(exportSessionMarkdown(b.db, QStringLiteral("s1"), &buf));
        const QString md = QString::fromUtf8(buf.data());
        QVERIFY2(md.startsWith(QStringLiteral("# Session s1\n")), qPrintable(md.left(200)));
        QVERIFY(md.contains(QStringLiteral("| Workspace | `%1` |").arg(b.workspace)));
        QVERIFY(md.contains(QStringLiteral("· User\n\nFix the &lt;b&gt;flaky&lt;/b&gt; test")));
        QVERIFY(md.contains(QStringLiteral("· Agent\n\nI'll run it in a loop.")));
        QVERIFY(md.contains(QStringLiteral("Tool call `execute`")));
        // The command holds three backticks, so its fence needs four.
        QVERIFY(md.contains(QStringLiteral("````console\nnpm test ```weird``` --repeat 20\n````")));
        QVERIFY(md.contains(QStringLiteral("Decision: allow** by dev (rule 3)")));
        QVERIFY(md.contains(QStringLiteral("`sandbox.started`")));
        QVERIFY(md.contains(QStringLiteral("Checkpoint `")));
        QVERIFY(md.contains(QStringLiteral("after tool call tc_2")));
        QVERIFY(md.contains(QStringLiteral("| `test.js` | modified | 1 | 1 |")));
        QVERIFY(md.contains(QStringLiteral("```diff\ndiff --git a/test.js b/test.js")));
        QVERIFY(md.contains(QStringLiteral("+expect(a).toBe(2);")));

        // Imported elsewhere, the transcript keeps the file lists and says why the diffs are missing.
        test::Bench other{QString()};
        AIRLOCK_VERIFY_RESULT(importSessionData(*other.store, exportJson(b), QStringLiteral("s1.json")));
        QBuffer buf2;
        buf2.open(QIODevice::WriteOnly);
        AIRLOCK_VERIFY_RESULT(exportSessionMarkdown(other.db, QStringLiteral("s1"), &buf2));
        const QString md2 = QString::fromUtf8(buf2.data());
        QVERIFY(md2.contains(QStringLiteral("| `test.js` | modified | 1 | 1 |")));
        QVERIFY(md2.contains(QStringLiteral("diff not available")));
        QCOMPARE(md2.count(QStringLiteral("diff not available")), 1);
    }

    void exportErrors()
    {
        test::Bench b;
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        auto r = exportSessionJson(b.db, QStringLiteral("nobody"), &buf);
        QVERIFY(!r);
        QCOMPARE(r.error().code, ErrorCode::NotFound);
        r = exportSessionMarkdown(b.db, QStringLiteral("nobody"), &buf);
        QVERIFY(!r);
    }
};

QTEST_GUILESS_MAIN(TestSessionIo)
#include "tst_workspace_sessionio.moc"
