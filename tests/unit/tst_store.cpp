// The event store: schema and migrations, batching, concurrent writers, projections, bad input.
#include "store/eventfeed.h"
#include "store/eventstore.h"
#include "store/maintenance.h"
#include "store/schema.h"
#include "store/storereader.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <thread>

using namespace airlock;
using namespace airlock::store;

class TestStore : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_counter = 0;
    QString newPath() { return m_dir.filePath(QStringLiteral("db%1.sqlite").arg(++m_counter)); }

    static void writeFile(const QString &path, const QByteArray &bytes)
    {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bytes);
    }

    static qint64 count(const QString &path, const char *sql)
    {
        auto db = Connection::open(path, Connection::Mode::ReadOnly);
        return db ? db->queryInt(sql).value_or(-1) : -1;
    }

private Q_SLOTS:
    void freshDatabase()
    {
        const QString path = newPath();
        auto db = openDatabase(path);
        QVERIFY2(db, qPrintable(db ? QString() : db.error().message));
        QCOMPARE(db->queryInt("PRAGMA user_version").value(), qint64(currentSchemaVersion()));
        QCOMPARE(db->queryInt("PRAGMA application_id").value(), kApplicationId);
        QCOMPARE(db->queryInt("PRAGMA foreign_keys").value(), 1);
        auto mode = db->prepare("PRAGMA journal_mode");
        QVERIFY(mode && mode->step().value());
        QCOMPARE(mode->columnText(0), QStringLiteral("wal"));
        for (const char *table : {"events", "sessions", "agent_profiles", "policies", "kv"}) {
            auto s = db->prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1");
            s->bind(1, QString::fromLatin1(table));
            QVERIFY(s->step().value());
            QVERIFY2(s->columnInt(0) == 1, table);
        }
        // Reopening an existing, current database changes nothing.
        db = {};
        const QByteArray before = test::fileHash(path);
        QVERIFY(openDatabase(path));
        QCOMPARE(test::fileHash(path), before);
    }

    void eventsAreAppendOnly()
    {
        const QString path = newPath();
        {
            auto store = EventStore::open(path);
            QVERIFY(store);
            QVERIFY((*store)->append({}, QStringLiteral("test.one"), {}));
            QVERIFY((*store)->flush());
        }
        auto db = openDatabase(path);
        QVERIFY(db);
        QVERIFY(!db->exec("UPDATE events SET kind = 'x'"));
        QVERIFY(!db->exec("DELETE FROM events"));
        QCOMPARE(db->queryInt("SELECT count(*) FROM events").value(), 1);
    }

    void migrationsStepAndRollBack()
    {
        const QString path = newPath();
        QVERIFY(openDatabase(path));
        {
            auto store = EventStore::open(path);
            QVERIFY((*store)->append(QStringLiteral("s"), QStringLiteral("test.keep"), {{QStringLiteral("a"), 1}}));
            QVERIFY((*store)->flush());
        }
        const int v = currentSchemaVersion();
        auto db = Connection::open(path, Connection::Mode::ReadWrite);
        QVERIFY(db);

        // A failing step leaves the version and every row as they were.
        const QByteArray broken = "CREATE TABLE extra(x); INSERT INTO nosuchtable VALUES (1);";
        const Migration bad[] = {{v + 1, broken.constData()}};
        auto r = migrate(*db, bad);
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QStringLiteral("nothing was changed")));
        QCOMPARE(db->queryInt("PRAGMA user_version").value(), qint64(v));
        QCOMPARE(db->queryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").value(), 0);

        // A good step is applied once, keeps the data, and a second run is a no-op.
        const Migration good[] = {{v + 1, "ALTER TABLE kv ADD COLUMN note TEXT;"}};
        QVERIFY(migrate(*db, good));
        QVERIFY(migrate(*db, good));
        QCOMPARE(db->queryInt("PRAGMA user_version").value(), qint64(v + 1));
        QCOMPARE(db->queryInt("SELECT count(*) FROM events WHERE kind = 'test.keep'").value(), 1);
        db = {};

        // This build now sees a newer schema and refuses it, without touching the file.
        const QByteArray before = test::fileHash(path);
        auto refused = EventStore::open(path);
        QVERIFY(!refused);
        QCOMPARE(refused.error().code, ErrorCode::NewerSchema);
        QVERIFY(refused.error().message.contains(path));
        QVERIFY(refused.error().message.contains(QStringLiteral("newer Airlock")));
        QCOMPARE(test::fileHash(path), before);
    }

    void badFiles_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("code");
        QTest::newRow("text") << "text" << int(ErrorCode::NotADatabase);
        QTest::newRow("random bytes") << "random" << int(ErrorCode::NotADatabase);
        QTest::newRow("sqlite header only") << "header" << int(ErrorCode::Corrupt);
        QTest::newRow("another program's sqlite") << "foreign" << int(ErrorCode::NotADatabase);
        QTest::newRow("damaged page one") << "damaged" << int(ErrorCode::Corrupt);
        QTest::newRow("a folder") << "folder" << int(ErrorCode::NotADatabase);
    }

    void badFiles()
    {
        QFETCH(QString, kind);
        QFETCH(int, code);
        const QString path = newPath();
        if (kind == QLatin1String("text")) {
            writeFile(path, "my notes, not a database\n");
        } else if (kind == QLatin1String("random")) {
            QByteArray bytes(8192, '\0');
            for (auto &b : bytes)
                b = char(QRandomGenerator::global()->bounded(256));
            writeFile(path, bytes);
        } else if (kind == QLatin1String("header")) {
            writeFile(path, QByteArray("SQLite format 3\0", 16) + QByteArray(64, '\x01'));
        } else if (kind == QLatin1String("foreign")) {
            sqlite3 *raw = nullptr;
            QCOMPARE(sqlite3_open(path.toUtf8().constData(), &raw), SQLITE_OK);
            QCOMPARE(sqlite3_exec(raw, "CREATE TABLE photos(id INTEGER); INSERT INTO photos VALUES (7);",
                                  nullptr, nullptr, nullptr),
                     SQLITE_OK);
            sqlite3_close(raw);
        } else if (kind == QLatin1String("damaged")) {
            QVERIFY(openDatabase(path));
            QFile f(path);
            QVERIFY(f.open(QIODevice::ReadWrite));
            f.seek(100); // the schema table's b-tree page header follows the 100-byte file header
            f.write(QByteArray(400, '\xff'));
        } else if (kind == QLatin1String("folder")) {
            QVERIFY(QDir().mkpath(path));
        }
        const QByteArray before = test::fileHash(path);
        auto store = EventStore::open(path);
        QVERIFY(!store);
        QCOMPARE(int(store.error().code), code);
        QVERIFY2(store.error().message.contains(path), qPrintable(store.error().message));
        QVERIFY(!store.error().message.contains(u'\n'));
        QCOMPARE(test::fileHash(path), before);
        QVERIFY(!QFile::exists(path + QStringLiteral("-wal")) || kind == QLatin1String("damaged"));
        // The reader refuses it just as clearly.
        if (kind != QLatin1String("folder"))
            QVERIFY(!StoreReader::open(path));
    }

    void appendRejectsBadInput_data()
    {
        QTest::addColumn<QString>("session");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("payloadBytes");
        QTest::newRow("empty kind") << "" << "" << 0;
        QTest::newRow("upper-case kind") << "" << "Session.Created" << 0;
        QTest::newRow("kind with space") << "" << "session created" << 0;
        QTest::newRow("kind with double dot") << "" << "session..created" << 0;
        QTest::newRow("kind ending in dot") << "" << "session." << 0;
        QTest::newRow("kind too long") << "" << QString(65, u'a') << 0;
        QTest::newRow("session with slash") << "a/b" << "test.x" << 0;
        QTest::newRow("session with newline") << "a\nb" << "test.x" << 0;
        QTest::newRow("session too long") << QString(129, u's') << "test.x" << 0;
        QTest::newRow("payload too big") << "s" << "test.x" << int(kMaxPayloadBytes + 1);
    }

    void appendRejectsBadInput()
    {
        QFETCH(QString, session);
        QFETCH(QString, kind);
        QFETCH(int, payloadBytes);
        const QString path = newPath();
        auto store = EventStore::open(path);
        QVERIFY(store);
        QVERIFY((*store)->append(QStringLiteral("ok"), QStringLiteral("test.before"), {}));
        QJsonObject payload;
        if (payloadBytes)
            payload.insert(QStringLiteral("big"), QString(payloadBytes, u'x'));
        auto r = (*store)->append(session, kind, payload);
        QVERIFY(!r);
        QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
        QVERIFY((*store)->flush());
        QCOMPARE(count(path, "SELECT count(*) FROM events"), 1); // what came before is kept
    }

    void batching()
    {
        const QString path = newPath();
        auto store = EventStore::open(path);
        QVERIFY(store);
        constexpr int n = 20000;
        for (int i = 0; i < n; ++i)
            QVERIFY((*store)->append(QStringLiteral("b"), QStringLiteral("test.tick"), {{QStringLiteral("i"), i}}));
        QVERIFY((*store)->flush());
        const quint64 batches = (*store)->batchesCommitted();
        QVERIFY2(batches >= 1 && batches < quint64(n) / 10, qPrintable(QString::number(batches)));
        QCOMPARE((*store)->committedTicket(), quint64(n));
        QCOMPARE(count(path, "SELECT count(*) FROM events"), n);
        // Events keep their append order.
        QCOMPARE(count(path, "SELECT count(*) FROM events WHERE json_extract(payload, '$.i') != seq - 1"), 0);

        // The batch limit is honoured.
        (*store)->setMaxBatch(100);
        const quint64 before = (*store)->batchesCommitted();
        for (int i = 0; i < 1000; ++i)
            QVERIFY((*store)->append({}, QStringLiteral("test.small"), {}));
        QVERIFY((*store)->flush());
        QVERIFY((*store)->batchesCommitted() - before >= 10);
    }

    void committedSignal()
    {
        auto store = EventStore::open(newPath());
        QVERIFY(store);
        QSignalSpy spy(store->get(), &EventStore::committed);
        QVERIFY((*store)->append({}, QStringLiteral("test.one"), {}));
        QVERIFY((*store)->append({}, QStringLiteral("test.two"), {}));
        QVERIFY((*store)->flush());
        QTRY_VERIFY(!spy.isEmpty());
        QCOMPARE(spy.last().at(0).toULongLong(), 2u);
        QCOMPARE(spy.last().at(1).toLongLong(), 2);
    }

    void concurrentWriters()
    {
        const QString path = newPath();
        auto first = EventStore::open(path);
        auto second = EventStore::open(path); // a second connection, as another process would have
        QVERIFY(first && second);
        constexpr int threads = 6, perThread = 3000;
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            EventStore *target = (t % 2 ? *second : *first).get();
            workers.emplace_back([target, t] {
                for (int i = 0; i < perThread; ++i)
                    (void)target->append(QStringLiteral("w%1").arg(t), QStringLiteral("test.tick"),
                                         {{QStringLiteral("i"), i}});
            });
        }
        for (auto &w : workers)
            w.join();
        QVERIFY((*first)->flush());
        QVERIFY((*second)->flush());

        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto report = reader->check();
        QVERIFY(report);
        QVERIFY(report->integrityOk);
        QCOMPARE(report->events, threads * perThread);
        QVERIFY(report->seqContiguous);
        // Each writer's events are in its own order, and the projection counted them all.
        for (int t = 0; t < threads; ++t) {
            EventQuery q;
            q.session = QStringLiteral("w%1").arg(t);
            q.limit = perThread + 1;
            auto events = reader->events(q);
            QVERIFY(events);
            QCOMPARE(events->size(), perThread);
            for (int i = 0; i < perThread; ++i)
                QCOMPARE(events->at(i).payload.value(QStringLiteral("i")).toInt(), i);
        }
    }

    void sessionsProjection()
    {
        const QString path = newPath();
        auto store = EventStore::open(path);
        QVERIFY(store);
        auto &s = **store;
        QVERIFY(s.append(QStringLiteral("p1"), QLatin1String(kinds::SessionCreated),
                         {{QStringLiteral("title"), QStringLiteral("Parent")},
                          {QStringLiteral("policy"), QStringLiteral("standard")}}));
        QVERIFY(s.append(QStringLiteral("c1"), QLatin1String(kinds::SessionCreated),
                         {{QStringLiteral("title"), QStringLiteral("Child")}, {QStringLiteral("parent"), QStringLiteral("p1")}}));
        QVERIFY(s.append(QStringLiteral("c2"), QLatin1String(kinds::SessionCreated),
                         {{QStringLiteral("parent"), QStringLiteral("unknown")}}));
        QVERIFY(s.append(QStringLiteral("p1"), QLatin1String(kinds::SessionCreated),
                         {{QStringLiteral("title"), QStringLiteral("Duplicate is ignored")}}));
        QVERIFY(s.append(QStringLiteral("p1"), QLatin1String(kinds::SessionState), {{QStringLiteral("state"), QStringLiteral("running")}}));
        QVERIFY(s.append(QStringLiteral("p1"), QLatin1String(kinds::SessionRenamed), {{QStringLiteral("title"), QStringLiteral("Renamed")}}));
        QVERIFY(s.append(QStringLiteral("p1"), QStringLiteral("agent.message"), {{QStringLiteral("text"), QStringLiteral("hi")}}));
        QVERIFY(s.flush());

        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto rows = reader->sessions();
        QVERIFY(rows);
        QCOMPARE(rows->size(), 3);
        auto p1 = reader->session(QStringLiteral("p1")).value();
        QVERIFY(p1);
        QCOMPARE(p1->title, QStringLiteral("Renamed"));
        QCOMPARE(p1->state, QStringLiteral("running"));
        QCOMPARE(p1->policy, QStringLiteral("standard"));
        QCOMPARE(p1->eventCount, 5);
        QCOMPARE(p1->firstSeq, 1);
        QCOMPARE(p1->lastSeq, 7);
        QCOMPARE(reader->session(QStringLiteral("c1")).value()->parent, QStringLiteral("p1"));
        QCOMPARE(reader->session(QStringLiteral("c2")).value()->parent, QString()); // unknown parent dropped
        QVERIFY(!reader->session(QStringLiteral("nope")).value());
        // Only sessions changed after a sequence number are returned when asked.
        QCOMPARE(reader->sessions(6).value().size(), 1);
    }

    void policiesAreVersionedEvents()
    {
        const QString path = newPath();
        auto store = EventStore::open(path);
        QVERIFY(store);
        auto save = [&](const QString &name, int memory, const QString &note = {}) {
            return (*store)->append({}, QLatin1String(kinds::PolicySaved),
                                    {{QStringLiteral("name"), name},
                                     {QStringLiteral("document"), QJsonObject{{QStringLiteral("memory"), memory}}},
                                     {QStringLiteral("note"), note}});
        };
        QVERIFY(save(QStringLiteral("standard"), 1));
        QVERIFY(save(QStringLiteral("standard"), 2, QStringLiteral("more memory")));
        QVERIFY(save(QStringLiteral("hardened"), 5));
        QVERIFY(!save(QStringLiteral("bad/name"), 1));
        QVERIFY(!(*store)->append({}, QLatin1String(kinds::PolicySaved), {{QStringLiteral("name"), QStringLiteral("x")}}));
        QVERIFY((*store)->flush());

        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto latest = reader->policies().value();
        QCOMPARE(latest.size(), 2);
        QCOMPARE(latest.at(0).name, QStringLiteral("hardened"));
        QCOMPARE(latest.at(1).version, 2);
        QCOMPARE(latest.at(1).note, QStringLiteral("more memory"));
        QCOMPARE(QJsonDocument::fromJson(latest.at(1).document).object().value(QStringLiteral("memory")).toInt(), 2);
        QCOMPARE(reader->policy(QStringLiteral("standard"), 1).value()->document, QByteArray("{\"memory\":1}"));
        QVERIFY(!reader->policy(QStringLiteral("standard"), 9).value());
        QCOMPARE(reader->policyVersions(QStringLiteral("standard")).value().size(), 2);
        // The saves are in the log too, as the truth the table is projected from.
        QCOMPARE(count(path, "SELECT count(*) FROM events WHERE kind = 'policy.saved'"), 3);
    }

    void approvalsInbox()
    {
        const QString path = newPath();
        auto store = EventStore::open(path);
        QVERIFY(store);
        auto &s = **store;
        const QJsonArray options{QJsonObject{{QStringLiteral("optionId"), QStringLiteral("yes")}, {QStringLiteral("kind"), QStringLiteral("allow_once")}},
                                 QJsonObject{{QStringLiteral("optionId"), QStringLiteral("no")}, {QStringLiteral("kind"), QStringLiteral("reject_once")}}};
        QVERIFY(s.append(QStringLiteral("s1"), QLatin1String(kinds::SessionCreated), {{QStringLiteral("title"), QStringLiteral("One")}}));
        for (int r : {1, 2})
            QVERIFY(s.append(QStringLiteral("s1"), QLatin1String(kinds::PermissionRequested),
                             {{QStringLiteral("request"), r},
                              {QStringLiteral("toolCall"), QJsonObject{{QStringLiteral("title"), QStringLiteral("Edit a.ts")}}},
                              {QStringLiteral("options"), options},
                              {QStringLiteral("explanation"), QStringLiteral("asked by rule 2")}}));
        QVERIFY(!s.append(QStringLiteral("s1"), QLatin1String(kinds::PermissionRequested), {})); // no request id
        QVERIFY(!s.append({}, QLatin1String(kinds::ApprovalAnswered), {{QStringLiteral("request"), 1}})); // no session
        QVERIFY(s.flush());

        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto open = reader->approvals().value();
        QCOMPARE(open.size(), 2);
        QCOMPARE(open.first().sessionTitle, QStringLiteral("One"));
        QCOMPARE(open.first().request, QStringLiteral("1"));
        QCOMPARE(open.first().options.size(), 2);
        QCOMPARE(open.first().toolCall.value(QStringLiteral("title")).toString(), QStringLiteral("Edit a.ts"));
        QCOMPARE(open.first().explanation, QStringLiteral("asked by rule 2"));
        const qint64 stamp = reader->approvalStamp().value();

        // Another process answers; only then does the session decide.
        QVERIFY(s.append(QStringLiteral("s1"), QLatin1String(kinds::ApprovalAnswered),
                         {{QStringLiteral("request"), 1}, {QStringLiteral("optionId"), QStringLiteral("yes")}}));
        QVERIFY(s.flush());
        open = reader->approvals().value();
        QCOMPARE(open.first().answer, QStringLiteral("yes"));
        QCOMPARE(open.first().answeredBy, QStringLiteral("user"));
        QVERIFY(open.first().isOpen());
        QVERIFY(reader->approvalStamp().value() > stamp);
        QVERIFY(s.append(QStringLiteral("s1"), QLatin1String(kinds::PermissionDecided),
                         {{QStringLiteral("request"), 1}, {QStringLiteral("decision"), QStringLiteral("allow")},
                          {QStringLiteral("by"), QStringLiteral("user")}}));
        // A second answer after the decision changes nothing.
        QVERIFY(s.append(QStringLiteral("s1"), QLatin1String(kinds::ApprovalAnswered),
                         {{QStringLiteral("request"), 1}, {QStringLiteral("optionId"), QStringLiteral("no")}}));
        QVERIFY(s.flush());
        open = reader->approvals().value();
        QCOMPARE(open.size(), 1);
        QCOMPARE(open.first().request, QStringLiteral("2"));
        auto all = reader->approvals(true).value();
        QCOMPARE(all.size(), 2);
        QCOMPARE(all.first().decision, QStringLiteral("allow"));
        QCOMPARE(all.first().answer, QStringLiteral("yes"));
    }

    void upgradesVersionOneFiles()
    {
        const QString path = newPath();
        {
            auto db = Connection::open(path, Connection::Mode::ReadWrite);
            QVERIFY(db);
            QVERIFY(migrate(*db, migrations().first(1)));
            QCOMPARE(db->queryInt("PRAGMA user_version").value(), 1);
            QVERIFY(db->exec("INSERT INTO events(session, kind, payload, time) VALUES ('s', 'test.old', '{}', 1)"));
        }
        auto store = EventStore::open(path);
        QVERIFY(store);
        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto report = reader->check().value();
        QCOMPARE(report.schemaVersion, currentSchemaVersion());
        QCOMPARE(report.events, 1);
        QVERIFY(reader->approvals());
    }

    // A session's events leave the log only behind a tombstone; every other delete or update is refused.
    void deletingASessionIsTheOnlyDelete()
    {
        const QString path = newPath();
        {
            auto store = EventStore::open(path);
            QVERIFY(store);
            auto &s = **store;
            QVERIFY(s.append(QStringLiteral("gone"), QString::fromLatin1(kinds::SessionCreated), {{QStringLiteral("title"), QStringLiteral("Old")}}));
            QVERIFY(s.append(QStringLiteral("gone"), QStringLiteral("test.message"), {{QStringLiteral("text"), QStringLiteral("hello")}}));
            QVERIFY(s.append(QStringLiteral("gone"), QString::fromLatin1(kinds::PermissionRequested), {{QStringLiteral("request"), QStringLiteral("r1")}}));
            QVERIFY(s.append(QStringLiteral("kept"), QString::fromLatin1(kinds::SessionCreated),
                             {{QStringLiteral("title"), QStringLiteral("Fork")}, {QStringLiteral("parent"), QStringLiteral("gone")}}));
            QVERIFY(s.append({}, QStringLiteral("test.global"), {}));
            // Nobody appends a tombstone by hand.
            auto forged = s.append(QStringLiteral("kept"), QString::fromLatin1(kSessionDeleted), {});
            QVERIFY(!forged);
            QVERIFY(forged.error().message.contains(QStringLiteral("sessions rm")));
            QVERIFY(s.flush());
        }
        auto reader = StoreReader::open(path);
        QVERIFY(reader);
        auto readDb = openForReading(path);
        QVERIFY(readDb);
        QVERIFY(sessionStoreBytes(*readDb, QStringLiteral("gone")).value() > 0);
        QCOMPARE(sessionStoreBytes(*readDb).value().size(), 2);

        auto db = openDatabase(path);
        QVERIFY(db);
        QVERIFY(!db->exec("DELETE FROM events WHERE session = 'gone'"));
        QVERIFY(!db->exec("DELETE FROM events WHERE session IS NULL"));

        auto purged = purgeSession(path, QStringLiteral("gone"), {{QStringLiteral("reason"), QStringLiteral("test")}});
        QVERIFY2(purged, purged ? "" : qPrintable(purged.error().message));
        QCOMPARE(purged->events, 3);
        QCOMPARE(count(path, "SELECT count(*) FROM events WHERE session = 'gone'"), 1);
        QCOMPARE(count(path, "SELECT count(*) FROM approvals WHERE session = 'gone'"), 0);
        QCOMPARE(count(path, "SELECT count(*) FROM sessions WHERE id = 'gone'"), 0);
        QCOMPARE(count(path, "SELECT count(*) FROM sessions WHERE id = 'kept' AND parent IS NULL"), 1);
        auto tomb = reader->events(EventQuery{QStringLiteral("gone"), 0, 10, false, {}, 0}).value();
        QCOMPARE(tomb.size(), 1);
        QCOMPARE(tomb.first().kind, QString::fromLatin1(kSessionDeleted));
        QCOMPARE(tomb.first().payload[QStringLiteral("title")].toString(), QStringLiteral("Old"));
        QCOMPARE(tomb.first().payload[QStringLiteral("events")].toInt(), 3);
        QCOMPARE(tomb.first().payload[QStringLiteral("reason")].toString(), QStringLiteral("test"));
        QCOMPARE(deletedSessions(*readDb, 0).value().size(), 1);

        // The tombstone, the other session's events and session-less events still cannot go.
        QVERIFY(!db->exec("DELETE FROM events WHERE kind = 'session.deleted'"));
        QVERIFY(!db->exec("DELETE FROM events WHERE session = 'kept'"));
        QVERIFY(!db->exec("DELETE FROM events WHERE session IS NULL"));
        QVERIFY(!db->exec("UPDATE events SET payload = '{}' WHERE session = 'gone'"));
        QCOMPARE(count(path, "SELECT count(*) FROM events"), 3);

        // The log is still whole: the gap is what the tombstone accounts for.
        const CheckReport report = reader->check().value();
        QVERIFY(report.ok());
        QCOMPARE(deletionSummary(*readDb).value().sessions, 1);
        QCOMPARE(deletionSummary(*readDb).value().events, 3);
        QCOMPARE(report.events, 3);

        QCOMPARE(purgeSession(path, QStringLiteral("gone"), {}).error().code, ErrorCode::NotFound);
        QCOMPARE(purgeSession(path, QStringLiteral("no such"), {}).error().code, ErrorCode::InvalidArgument);
    }

    // A version-2 file gains the sanctioned delete and keeps its guard against every other one.
    void upgradesVersionTwoFiles()
    {
        const QString path = newPath();
        {
            auto db = Connection::open(path, Connection::Mode::ReadWrite);
            QVERIFY(db);
            QVERIFY(migrate(*db, migrations().first(2)));
            QCOMPARE(db->queryInt("PRAGMA user_version").value(), 2);
            QVERIFY(db->exec("INSERT INTO events(session, kind, payload, time) VALUES ('s', 'session.created', '{}', 1);"
                             "INSERT INTO sessions(id, created, updated, first_seq, last_seq, event_count) VALUES ('s', 1, 1, 1, 1, 1);"
                             "INSERT INTO events(session, kind, payload, time) VALUES ('t', 'test.old', '{}', 2);"));
            // Version 2 refuses even a tombstoned session's delete.
            QVERIFY(db->exec("INSERT INTO events(session, kind, payload, time) VALUES ('t', 'session.deleted', '{}', 3)"));
            QVERIFY(!db->exec("DELETE FROM events WHERE session = 't' AND kind = 'test.old'"));
        }
        auto store = EventStore::open(path);
        QVERIFY(store);
        QCOMPARE(count(path, "PRAGMA user_version"), qint64(currentSchemaVersion()));
        QCOMPARE(currentSchemaVersion(), 3);
        QCOMPARE(count(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_tombstones'"), 1);
        auto db = Connection::open(path, Connection::Mode::ReadWrite);
        QVERIFY(db);
        QVERIFY(!db->exec("DELETE FROM events WHERE session = 's'"));
        QVERIFY(!db->exec("UPDATE events SET kind = 'x'"));
        QVERIFY(db->exec("DELETE FROM events WHERE session = 't' AND kind = 'test.old'"));
        QVERIFY(!db->exec("DELETE FROM events WHERE session = 't'"));
        auto purged = purgeSession(path, QStringLiteral("s"), {});
        QVERIFY(purged);
        QCOMPARE(purged->events, 1);
        QCOMPARE(count(path, "SELECT count(*) FROM events WHERE session = 's'"), 1);
    }

    void feedSeesCommitsFromOtherConnections()
    {
        const QString path = newPath();
        auto writer = EventStore::open(path);
        QVERIFY(writer);
        QVERIFY((*writer)->append(QStringLiteral("a"), QLatin1String(kinds::SessionCreated), {}));
        QVERIFY((*writer)->flush());

        EventFeed feed(path);
        QSignalSpy sessions(&feed, &EventFeed::sessionsChanged);
        QSignalSpy history(&feed, &EventFeed::history);
        QSignalSpy appended(&feed, &EventFeed::eventsAppended);
        feed.follow(QStringLiteral("a"), 10);
        feed.start(20);
        QTRY_COMPARE(sessions.size(), 1);
        QCOMPARE(sessions.first().first().value<QList<SessionRow>>().size(), 1);
        QTRY_COMPARE(history.size(), 1);
        QCOMPARE(history.first().at(1).value<QList<Event>>().size(), 1);

        // A different connection (as another process would use) appends; the feed notices.
        auto other = EventStore::open(path);
        QVERIFY((*other)->append(QStringLiteral("a"), QLatin1String(kinds::SessionState), {{QStringLiteral("state"), QStringLiteral("idle")}}));
        QVERIFY((*other)->append(QStringLiteral("b"), QLatin1String(kinds::SessionCreated), {}));
        QVERIFY((*other)->flush());
        QTRY_VERIFY(sessions.size() >= 2);
        QTRY_COMPARE(appended.size(), 1);
        const auto events = appended.first().at(1).value<QList<Event>>();
        QCOMPARE(events.size(), 1);
        QCOMPARE(events.first().kind, QLatin1String(kinds::SessionState));
        QList<SessionRow> changed;
        for (const auto &args : sessions.mid(1))
            changed += args.first().value<QList<SessionRow>>();
        QCOMPARE(changed.size(), 2);
    }

    void feedReportsMissingDatabase()
    {
        EventFeed feed(m_dir.filePath(QStringLiteral("missing/none.db")));
        QSignalSpy failed(&feed, &EventFeed::failed);
        feed.start(20);
        QTRY_COMPARE(failed.size(), 1);
        QVERIFY(failed.first().first().value<Error>().message.contains(QStringLiteral("none.db")));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
