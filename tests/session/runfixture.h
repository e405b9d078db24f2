#pragma once
// Helpers of the tests that drive `airlockctl run` end to end.
#include "store/storereader.h"
#include "testutil.h"

#include <QDir>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#include <sys/stat.h>

namespace airlock::test {

inline bool copyTree(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    QDirIterator it(from, QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString target = to + u'/' + QDir(from).relativeFilePath(path);
        if (it.fileInfo().isDir()) {
            QDir().mkpath(target);
        } else if (!QFile::copy(path, target)) {
            return false;
        } else {
            QFile::setPermissions(target, QFile(path).permissions());
        }
    }
    return true;
}

// What the `airlockctl run` tests share: a store and runtime folder of their own, the CLI, fresh copies
// of the demo workspace, and reading back what a session stored.
class RunFixture : public QObject
{
protected:
    QTemporaryDir m_dir;
    QString m_db;
    int m_workspaces = 0;

    test::Run ctl(const QStringList &args, int timeoutMs = 120000)
    {
        return test::run(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db} + args, timeoutMs);
    }
    QString freshWorkspace()
    {
        const QString ws = m_dir.filePath(QStringLiteral("ws%1").arg(++m_workspaces));
        if (!copyTree(QStringLiteral(AIRLOCK_TEST_SOURCE_DIR "/resources/demo-workspace"), ws))
            return {};
        return ws;
    }
    // The newest session's events, from the store as another reader sees it.
    QList<store::Event> lastSessionEvents(QString *id = nullptr)
    {
        auto reader = store::StoreReader::open(m_db);
        if (!reader)
            return {};
        auto sessions = reader->sessions();
        if (!sessions || sessions->isEmpty())
            return {};
        const auto newest = std::max_element(sessions->begin(), sessions->end(),
                                             [](const auto &a, const auto &b) { return a.firstSeq < b.firstSeq; });
        if (id)
            *id = newest->id;
        store::EventQuery q;
        q.session = newest->id;
        q.limit = 100000;
        auto events = reader->events(q);
        return events ? *events : QList<store::Event>{};
    }
    QList<store::Event> sessionEvents(const QString &id)
    {
        auto reader = store::StoreReader::open(m_db);
        if (!reader)
            return {};
        store::EventQuery q;
        q.session = id;
        q.limit = 100000;
        auto events = reader->events(q);
        return events ? *events : QList<store::Event>{};
    }
    // Starts `airlockctl run ARGS` in the background and waits until its transcript (printed from the
    // store as events arrive) shows the turn started.
    bool startRun(QProcess &p, const QStringList &args, QString *id)
    {
        QString before;
        (void)lastSessionEvents(&before);
        p.start(QStringLiteral(AIRLOCKCTL_PATH), QStringList{QStringLiteral("--db"), m_db, QStringLiteral("run")} + args);
        if (!p.waitForStarted())
            return false;
        QByteArray transcript;
        if (!QTest::qWaitFor([&] {
                transcript += p.readAllStandardOutput();
                return transcript.contains("you: ") || p.state() == QProcess::NotRunning;
            }, 60000) || !transcript.contains("you: "))
            return false;
        (void)lastSessionEvents(id);
        return !id->isEmpty() && *id != before;
    }
    QStringList sandboxesLeft() const
    {
        return QDir(m_dir.filePath(QStringLiteral("run/sandboxes"))).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    }
    Result<void> importPolicy(const QString &name, const QJsonObject &guardrails)
    {
        const auto shown = ctl({QStringLiteral("policy"), QStringLiteral("export"), QStringLiteral("standard")});
        if (shown.exitCode != 0)
            return fail(ErrorCode::Io, QString::fromUtf8(shown.err));
        QJsonObject doc = QJsonDocument::fromJson(shown.out).object();
        QJsonObject g = doc[QStringLiteral("guardrails")].toObject();
        for (auto it = guardrails.begin(); it != guardrails.end(); ++it)
            g[it.key()] = it.value();
        doc[QStringLiteral("guardrails")] = g;
        const QString file = m_dir.filePath(name + QStringLiteral(".json"));
        QFile f(file);
        if (!f.open(QIODevice::WriteOnly))
            return fail(ErrorCode::Io, file);
        f.write(QJsonDocument(doc).toJson());
        f.close();
        const auto r = ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--name"), name});
        if (r.exitCode != 0)
            return fail(ErrorCode::Io, QString::fromUtf8(r.err));
        return {};
    }
    static QJsonObject lastState(const QList<store::Event> &events)
    {
        const auto states = ofKind(events, QStringLiteral("session.state"));
        return states.isEmpty() ? QJsonObject() : states.last().payload;
    }
    static QList<store::Event> ofKind(const QList<store::Event> &all, const QString &kind)
    {
        QList<store::Event> out;
        for (const auto &e : all)
            if (e.kind == kind)
                out << e;
        return out;
    }
#ifdef AIRLOCK_DEMO_AGENT_PATH // tests that use the demo agent
    // A hostile agent: airlock-demo-agent playing the steps of a script (see its --script).
    void addScriptedAgent(const QString &name, const QJsonArray &steps)
    {
        const QString file = m_dir.filePath(name + QStringLiteral(".json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(steps).toJson());
        f.close();
        const auto r = ctl({QStringLiteral("agents"), QStringLiteral("add"), name, QStringLiteral("--placement"), QStringLiteral("host"),
                            QStringLiteral("--"), QStringLiteral(AIRLOCK_DEMO_AGENT_PATH), QStringLiteral("--pace-ms"), QStringLiteral("0"),
                            QStringLiteral("--script"), file});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
#endif
    // What the scripted agent was answered, in order: "RESULT method {json}" or "ERROR method code message".
    static QStringList answersSeenByAgent(const QList<store::Event> &events)
    {
        QStringList out;
        for (const auto &e : ofKind(events, QStringLiteral("agent.update"))) {
            const QJsonObject u = e.payload[QStringLiteral("update")].toObject();
            const QString text = u[QStringLiteral("content")].toObject()[QStringLiteral("text")].toString();
            if (u[QStringLiteral("sessionUpdate")].toString() == QLatin1String("agent_message_chunk")
                && (text.startsWith(QLatin1String("RESULT ")) || text.startsWith(QLatin1String("ERROR "))))
                out << text.trimmed();
        }
        return out;
    }
    static QJsonObject permissionStep(const QJsonObject &toolCall, const QJsonArray &options)
    {
        return {{QStringLiteral("request"), QStringLiteral("session/request_permission")},
                {QStringLiteral("params"), QJsonObject{{QStringLiteral("toolCall"), toolCall}, {QStringLiteral("options"), options}}}};
    }
    static QJsonObject option(const char *id, const char *name, const char *kind)
    {
        return {{QStringLiteral("optionId"), QString::fromUtf8(id)}, {QStringLiteral("name"), QString::fromUtf8(name)},
                {QStringLiteral("kind"), QString::fromUtf8(kind)}};
    }
    static QJsonArray plainOptions()
    {
        return {option("a", "Allow", "allow_once"), option("r", "Reject", "reject_once")};
    }

    // Opens the test's folder to the sandboxes' user and gives the sandboxes a runtime folder in it.
    void prepareFolders()
    {
        // As root the sandboxes run as another user, whose bwrap must pass through to the runtime folder.
        ::chmod(QFile::encodeName(m_dir.path()).constData(), 0711);
        // The sandboxes' runtime folder too, so what a killed process leaves is the test's to check.
        qputenv("AIRLOCK_RUNTIME_DIR", QFile::encodeName(m_dir.filePath(QStringLiteral("run"))));
    }
};

} // namespace airlock::test
