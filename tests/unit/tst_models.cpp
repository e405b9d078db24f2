// The UI models under QAbstractItemModelTester, fed the way the store's feed feeds them.
#include "sessionsmodel.h"
#include "thread/threadmodel.h"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSignalSpy>
#include <QTest>

using namespace airlock;
using namespace airlock::ui;

namespace {
store::SessionRow session(const QString &id, const QString &state = QStringLiteral("created"), qint64 seq = 1)
{
    store::SessionRow r;
    r.id = id;
    r.title = QStringLiteral("Session ") + id;
    r.state = state;
    r.lastSeq = seq;
    r.eventCount = seq;
    return r;
}

store::Event ev(qint64 seq, const char *kind, const QJsonObject &payload)
{
    return {seq, QStringLiteral("a"), QString::fromLatin1(kind), payload, seq * 1000};
}
QJsonObject text(const char *t)
{
    return {{QStringLiteral("type"), QStringLiteral("text")}, {QStringLiteral("text"), QString::fromUtf8(t)}};
}
QJsonObject chunk(const char *kind, const char *t)
{
    return {{QStringLiteral("sessionUpdate"), QString::fromLatin1(kind)}, {QStringLiteral("content"), text(t)}};
}
store::Event upd(qint64 seq, const QJsonObject &update)
{
    return ev(seq, "agent.update", {{QStringLiteral("update"), update}});
}
} // namespace

class TestModels : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void sessionsRemoveAndDiskUse()
    {
        SessionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.merge({session(QStringLiteral("a")), session(QStringLiteral("b")), session(QStringLiteral("c"))});
        QVERIFY(!model.index(0, SessionsModel::Disk).data().isValid());
        model.setDiskUse({{QStringLiteral("b"), {2048, QStringLiteral("checkpoints 2 KB")}}});
        QCOMPARE(model.index(1, SessionsModel::Disk).data(SessionsModel::DiskBytesRole).toLongLong(), 2048);
        QVERIFY(!model.index(1, SessionsModel::Disk).data().toString().isEmpty());
        QCOMPARE(model.index(1, SessionsModel::Disk).data(Qt::ToolTipRole).toString(), QStringLiteral("checkpoints 2 KB"));
        QCOMPARE(model.headerData(SessionsModel::Disk, Qt::Horizontal).toString(), QStringLiteral("Disk"));

        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        model.remove({QStringLiteral("b"), QStringLiteral("nobody")});
        QCOMPARE(removed.size(), 1);
        QCOMPARE(model.rowCount(), 2);
        QVERIFY(!model.indexOf(QStringLiteral("b")).isValid());
        QCOMPARE(model.indexOf(QStringLiteral("c")).row(), 1);
        // An update after the removal lands on the right row.
        model.merge({session(QStringLiteral("c"), QStringLiteral("ended"), 5)});
        QCOMPARE(model.index(1, SessionsModel::State).data().toString(), QStringLiteral("ended"));
        QCOMPARE(model.rowCount(), 2);
    }

    void sessionsMergeKeepsRowsInPlace()
    {
        SessionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

        model.merge({session(QStringLiteral("a")), session(QStringLiteral("b"))});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(inserted.size(), 1);

        // An update and a new session in one delivery: the update is a dataChanged, the new row
        // is appended, nothing is reset.
        model.merge({session(QStringLiteral("b"), QStringLiteral("running"), 5), session(QStringLiteral("c"))});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(reset.size(), 0);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().at(0).toModelIndex().row(), 1);
        QCOMPARE(model.index(1, SessionsModel::State).data().toString(), QStringLiteral("running"));
        QCOMPARE(model.index(1, 0).data(SessionsModel::SessionIdRole).toString(), QStringLiteral("b"));
        QCOMPARE(model.indexOf(QStringLiteral("c")).row(), 2);
        QVERIFY(!model.indexOf(QStringLiteral("zz")).isValid());
        QCOMPARE(model.index(0, SessionsModel::Title).data().toString(), QStringLiteral("Session a"));
        QCOMPARE(model.headerData(SessionsModel::State, Qt::Horizontal).toString(), QStringLiteral("State"));

        // Many updates spread out are coalesced into one signal.
        changed.clear();
        model.merge({session(QStringLiteral("a"), QStringLiteral("idle")), session(QStringLiteral("c"), QStringLiteral("idle"))});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().at(0).toModelIndex().row(), 0);
        QCOMPARE(changed.first().at(1).toModelIndex().row(), 2);
        model.merge({});
    }

    void threadFoldsEventsIncrementally()
    {
        ThreadModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setSession(QStringLiteral("a"));
        model.setHistory(QStringLiteral("other"), {ev(1, "turn.started", {})}); // stale answer: ignored
        QCOMPARE(model.rowCount(), 0);

        model.append(QStringLiteral("a"), {ev(1, "turn.started", {{QStringLiteral("turn"), 1}, {QStringLiteral("prompt"), QJsonArray{text("fix it")}}}),
                                           upd(2, chunk("agent_message_chunk", "Hel")), upd(3, chunk("agent_message_chunk", "lo"))});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(inserted.size(), 1); // one insertion per delivery
        QCOMPARE(model.index(0).data(ThreadModel::KindRole).toInt(), int(ThreadItem::UserMessage));
        QCOMPARE(model.index(0).data(ThreadModel::TextRole).toString(), QStringLiteral("fix it"));
        QCOMPARE(model.index(1).data(ThreadModel::TextRole).toString(), QStringLiteral("Hello"));

        // A later chunk extends the same message in place.
        model.append(QStringLiteral("a"), {upd(4, chunk("agent_message_chunk", "!"))});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.index(1).data(ThreadModel::TextRole).toString(), QStringLiteral("Hello!"));
        QCOMPARE(changed.last().at(0).toModelIndex().row(), 1);

        // Tool calls: created, updated, announced again — one card.
        model.append(QStringLiteral("a"),
                     {upd(5, {{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QStringLiteral("t1")},
                              {QStringLiteral("title"), QStringLiteral("Run tests")}, {QStringLiteral("kind"), QStringLiteral("execute")},
                              {QStringLiteral("status"), QStringLiteral("pending")}}),
                      upd(6, {{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call_update")}, {QStringLiteral("toolCallId"), QStringLiteral("t1")},
                              {QStringLiteral("status"), QStringLiteral("in_progress")}}),
                      upd(7, {{QStringLiteral("sessionUpdate"), QStringLiteral("tool_call")}, {QStringLiteral("toolCallId"), QStringLiteral("t1")},
                              {QStringLiteral("title"), QStringLiteral("Run all tests")}, {QStringLiteral("status"), QStringLiteral("completed")},
                              {QStringLiteral("content"), QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("content")},
                                                                                 {QStringLiteral("content"), text("3 passed")}}}}})});
        QCOMPARE(model.rowCount(), 3);
        const QModelIndex tool = model.index(2);
        QCOMPARE(tool.data(ThreadModel::TitleRole).toString(), QStringLiteral("Run all tests"));
        QCOMPARE(tool.data(ThreadModel::StatusRole).toString(), QStringLiteral("completed"));
        QCOMPARE(tool.data(ThreadModel::ToolKindRole).toString(), QStringLiteral("execute"));
        QVERIFY(tool.data(ThreadModel::DetailRole).toString().contains(QLatin1String("3 passed")));
        QVERIFY(tool.data(ThreadModel::DurationRole).isValid());

        // Plans replace the plan; permissions get their outcome; unknown updates are shown, not fatal.
        auto plan = [](const char *status) {
            return QJsonObject{{QStringLiteral("sessionUpdate"), QStringLiteral("plan")},
                               {QStringLiteral("entries"), QJsonArray{QJsonObject{{QStringLiteral("content"), QStringLiteral("Fix")},
                                                                                  {QStringLiteral("status"), QString::fromLatin1(status)}}}}};
        };
        model.append(QStringLiteral("a"), {upd(8, plan("pending")), upd(9, plan("completed")),
                                           ev(10, "permission.requested", {{QStringLiteral("request"), 1},
                                                                           {QStringLiteral("toolCall"), QJsonObject{{QStringLiteral("title"), QStringLiteral("Edit a.ts")}}}}),
                                           ev(11, "permission.decided", {{QStringLiteral("request"), 1}, {QStringLiteral("decision"), QStringLiteral("allow")},
                                                                         {QStringLiteral("by"), QStringLiteral("user")}}),
                                           upd(12, {{QStringLiteral("sessionUpdate"), QStringLiteral("teleport")}}),
                                           ev(13, "tool.outside", {{QStringLiteral("toolCallId"), QStringLiteral("t1")}, {QStringLiteral("kind"), QStringLiteral("execute")}})});
        QCOMPARE(model.rowCount(), 7);
        QCOMPARE(model.index(3).data(ThreadModel::TextRole).toString(), QStringLiteral("☑ Fix"));
        QCOMPARE(model.index(4).data(ThreadModel::StatusRole).toString(), QStringLiteral("allow"));
        QVERIFY(model.index(5).data(ThreadModel::WarningRole).toBool());
        QVERIFY(model.index(5).data().toString().contains(QLatin1String("teleport")));
        QVERIFY(model.index(2).data(ThreadModel::WarningRole).toBool()); // the tool card is marked too
        QVERIFY(model.index(6).data().toString().contains(QLatin1String("outside the sandbox")));

        // Overlapping deliveries are folded once; expanding is a model edit.
        model.append(QStringLiteral("a"), {upd(12, chunk("agent_message_chunk", "dup"))});
        QCOMPARE(model.rowCount(), 7);
        QVERIFY(model.setData(model.index(1), true, ThreadModel::ExpandedRole));
        QVERIFY(model.index(1).data(ThreadModel::ExpandedRole).toBool());
        QCOMPARE(reset.size(), 1); // setSession only: the stale history changed nothing
    }

    // The agent's stderr: one row per turn gathering its lines, whatever comes between them; the notice
    // of a call that ran outside names its command.
    void threadGathersTheAgentLog()
    {
        ThreadModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(QStringLiteral("a"));
        const auto log = [](qint64 seq, const char *line) { return ev(seq, "agent.log", {{QStringLiteral("line"), QString::fromUtf8(line)}}); };
        model.append(QStringLiteral("a"), {ev(1, "turn.started", {{QStringLiteral("turn"), 1}, {QStringLiteral("prompt"), QJsonArray{text("go")}}}),
                                           log(2, "starting"), upd(3, chunk("agent_message_chunk", "Hi")), log(4, "EACCES: mkdir ~/.claude"),
                                           ev(5, "tool.outside", {{QStringLiteral("toolCallId"), QStringLiteral("toolu_1")},
                                                                  {QStringLiteral("kind"), QStringLiteral("execute")},
                                                                  {QStringLiteral("command"), QStringLiteral("make all")}})});
        QCOMPARE(model.rowCount(), 4);
        const QModelIndex row = model.index(1);
        QVERIFY2(row.data(ThreadModel::TitleRole).toString().startsWith(QStringLiteral("Agent log · 2 lines")),
                 qPrintable(row.data(ThreadModel::TitleRole).toString()));
        QCOMPARE(row.data(ThreadModel::DetailRole).toString(), QStringLiteral("starting\nEACCES: mkdir ~/.claude"));
        QVERIFY(model.index(3).data(ThreadModel::TitleRole).toString().contains(QLatin1String("(make all)")));
        // A new turn, a new row.
        model.append(QStringLiteral("a"), {ev(6, "turn.started", {{QStringLiteral("turn"), 2}, {QStringLiteral("prompt"), QJsonArray{text("again")}}}),
                                           log(7, "second turn")});
        QCOMPARE(model.rowCount(), 6);
        QVERIFY(model.index(5).data(ThreadModel::TitleRole).toString().startsWith(QStringLiteral("Agent log · 1 line")));
    }

    // What fitting the policy changed, a sandbox's long preparation and a failing model API are rows a
    // user reads without opening a dock; the model's failure as a warning.
    void threadSaysSetupAndModelFailures()
    {
        ThreadModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(QStringLiteral("a"));
        model.append(QStringLiteral("a"),
                     {ev(1, "session.created", {{QStringLiteral("policy"), QStringLiteral("hardened")}, {QStringLiteral("agent"), QStringLiteral("claude")},
                                                {QStringLiteral("notes"), QJsonArray{QStringLiteral("the container runs airlock-agent:latest")}}}),
                      ev(2, "sandbox.progress", {{QStringLiteral("text"), QStringLiteral("assembling airlock-agent:latest")}}),
                      ev(3, "model.failed", {{QStringLiteral("message"), QStringLiteral("the model API at api.anthropic.com refused the key (HTTP 401)")},
                                             {QStringLiteral("failures"), 3}})});
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.index(1).data(ThreadModel::TitleRole).toString(), QStringLiteral("the container runs airlock-agent:latest"));
        QCOMPARE(model.index(2).data(ThreadModel::TitleRole).toString(), QStringLiteral("assembling airlock-agent:latest"));
        QCOMPARE(model.index(3).data(ThreadModel::TitleRole).toString(),
                 QStringLiteral("the model API at api.anthropic.com refused the key (HTTP 401) (3 failed requests so far)"));
        QVERIFY(model.index(3).data(ThreadModel::WarningRole).toBool());
    }

    void threadCapsHugeText()
    {
        ThreadModel model;
        model.setSession(QStringLiteral("a"));
        const QByteArray big(ThreadModel::kMaxTextChars + 5000, 'x');
        model.append(QStringLiteral("a"), {upd(1, chunk("agent_message_chunk", big.constData()))});
        QVERIFY(model.index(0).data(ThreadModel::TextRole).toString().size() < ThreadModel::kMaxTextChars + 100);
        QVERIFY(model.index(0).data(ThreadModel::TextRole).toString().endsWith(QLatin1String("in the store)")));
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
