// Claude Code's own conversation across runs of one session. With a hybrid lifecycle the session keeps
// the agent's home (<store folder>/homes/<session>, the user the sandbox runs as its owner), so
// `airlockctl run --session ID` reopens the conversation with session/load: the model gets the first
// turn from the agent's own files, not a transcript pasted into the prompt. Deleting the session
// removes that home. With the ephemeral Standard preset nothing is kept and the transcript is the
// fallback. Real claude-agent-acp from npm, real bubblewrap, the fake upstream over TLS.
#include "claudefixture.h"

#include <QDirIterator>
#include <QFileInfo>

#include <sys/stat.h>

using namespace airlock;

class TestClaudeResume : public test::ClaudeFixture
{
    Q_OBJECT

    QString m_ws;

    test::Run runClaude(const QStringList &extra, const QString &prompt)
    {
        return ctl(QStringList{QStringLiteral("run")} + extra
                       + QStringList{QStringLiteral("--model-endpoint"), QStringLiteral("https://localhost:%1").arg(m_port),
                                     QStringLiteral("--upstream-ca"), m_ca, prompt},
                   240000);
    }
    // The last request of the agent's main loop (the one that offers tools) the fake upstream saw.
    QJsonObject lastMainRequest()
    {
        QJsonObject last;
        for (const QJsonObject &o : upstreamRequests())
            if (!o.value(QStringLiteral("tools")).toArray().isEmpty())
                last = o;
        return last;
    }
    static bool said(const QList<store::Event> &events, const char *kind, const char *text = nullptr)
    {
        return std::any_of(events.begin(), events.end(), [&](const store::Event &e) {
            return e.kind == QLatin1String(kind)
                   && (!text || QJsonDocument(e.payload).toJson().contains(text));
        });
    }

private Q_SLOTS:
    void initTestCase()
    {
        prepareClaude();
        if (QTest::currentTestFailed())
            return;
        if (!installClaude())
            QSKIP(kClaudeNotInstalled);
        // Standard, with the hybrid lifecycle, saved under a name of its own.
        const auto exported = ctl({QStringLiteral("policy"), QStringLiteral("export"), QStringLiteral("standard")});
        QCOMPARE(exported.exitCode, 0);
        QJsonObject policy = QJsonDocument::fromJson(exported.out).object();
        QVERIFY(!policy.isEmpty());
        policy.insert(QStringLiteral("name"), QStringLiteral("kept-home"));
        policy.insert(QStringLiteral("lifecycle"), QStringLiteral("hybrid"));
        const QString file = m_dir.filePath(QStringLiteral("kept-home.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(policy).toJson());
        f.close();
        const auto imported = ctl({QStringLiteral("policy"), QStringLiteral("import"), file, QStringLiteral("--name"), QStringLiteral("kept-home")});
        QVERIFY2(imported.exitCode == 0, imported.err.constData());
    }

    void cleanupTestCase()
    {
        stopFake();
    }

    void keptHomeReopensTheConversation()
    {
        QVERIFY(startFake({QJsonObject{{QStringLiteral("text"), QStringLiteral("Noted.")}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("It was PAPAYA.")}}}));
        m_ws = m_dir.filePath(QStringLiteral("ws-kept"));
        QVERIFY(QDir().mkpath(m_ws));
        ::chmod(QFile::encodeName(m_ws).constData(), 0777);
        const auto first = runClaude({QStringLiteral("--agent"), QStringLiteral("claude"), QStringLiteral("--policy"),
                                      QStringLiteral("kept-home"), QStringLiteral("--workspace"), m_ws},
                                     QStringLiteral("Remember the word PAPAYA."));
        QVERIFY2(first.exitCode == 0, QByteArray(first.out + first.err).constData());
        QVERIFY2(first.err.contains("the agent's home is kept in"), first.err.constData());
        QString id;
        (void)lastSessionEvents(&id);
        const QString home = QFileInfo(m_db).absolutePath() + QStringLiteral("/homes/") + id;
        struct stat st {};
        QVERIFY2(::stat(QFile::encodeName(home).constData(), &st) == 0, qPrintable(home));
        QCOMPARE(st.st_mode & 07777, mode_t(0700));
        QVERIFY2(QFileInfo::exists(home + QStringLiteral("/.claude")), "Claude Code kept nothing in its home");

        const auto second = runClaude({QStringLiteral("--session"), id}, QStringLiteral("What was the word?"));
        QVERIFY2(second.exitCode == 0, QByteArray(second.out + second.err).constData());
        const auto events = lastSessionEvents();
        QVERIFY(said(events, "agent.session", "\"loaded\": true"));
        QVERIFY2(!said(events, "agent.error", "session/load failed"), "session/load failed with the kept home");
        // The model got the first turn from Claude Code's own files: the conversation starts with it,
        // and the new prompt is just the question.
        const QJsonObject last = lastMainRequest();
        QVERIFY2(last.value(QStringLiteral("messages")).toInt() >= 3, QJsonDocument(last).toJson().constData());
        QVERIFY(QJsonDocument(last.value(QStringLiteral("firstUser")).toObject()).toJson().contains("PAPAYA"));
        QVERIFY(!QJsonDocument(last.value(QStringLiteral("lastUser")).toObject()).toJson().contains("PAPAYA"));
        // The real key is in no file of the kept home.
        QDirIterator it(home, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile f(it.next());
            if (f.open(QIODevice::ReadOnly))
                QVERIFY2(!f.readAll().contains(m_key), qPrintable(f.fileName()));
        }
        // Deleting the session takes its home with it.
        const auto removed = ctl({QStringLiteral("sessions"), QStringLiteral("rm"), id, QStringLiteral("--yes")});
        QVERIFY2(removed.exitCode == 0, removed.err.constData());
        QVERIFY2(removed.out.contains("agent's home") || removed.err.contains("agent's home"), removed.out.constData());
        QVERIFY(!QFileInfo::exists(home));
    }

    void ephemeralKeepsNothing()
    {
        QVERIFY(startFake({QJsonObject{{QStringLiteral("text"), QStringLiteral("Noted.")}},
                           QJsonObject{{QStringLiteral("text"), QStringLiteral("It was MANGO.")}}}));
        const QString ws = m_dir.filePath(QStringLiteral("ws-ephemeral"));
        QVERIFY(QDir().mkpath(ws));
        ::chmod(QFile::encodeName(ws).constData(), 0777);
        const auto first = runClaude({QStringLiteral("--agent"), QStringLiteral("claude"), QStringLiteral("--workspace"), ws},
                                     QStringLiteral("Remember the word MANGO."));
        QVERIFY2(first.exitCode == 0, QByteArray(first.out + first.err).constData());
        QString id;
        (void)lastSessionEvents(&id);
        QVERIFY(!QFileInfo::exists(QFileInfo(m_db).absolutePath() + QStringLiteral("/homes/") + id));
        const auto second = runClaude({QStringLiteral("--session"), id}, QStringLiteral("What was the word?"));
        QVERIFY2(second.exitCode == 0, QByteArray(second.out + second.err).constData());
        // The agent's files went with its sandbox: the transcript carries the first turn instead.
        QVERIFY(said(lastSessionEvents(), "agent.error", "session/load failed"));
        QVERIFY(QJsonDocument(lastMainRequest().value(QStringLiteral("lastUser")).toObject()).toJson().contains("MANGO"));
    }
};

QTEST_GUILESS_MAIN(TestClaudeResume)
#include "tst_claude_resume.moc"
