#pragma once

#include "demoagent.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>

namespace demo {

// One scripted prompt turn. Deterministic: the same workspace and answers give the same messages,
// tool calls and requests in the same order. It streams thoughts and messages, publishes a plan,
// reads the code through fs/read_text_file, runs the tests through terminal/create, asks permission
// to edit, writes the fix through fs/write_text_file, runs the tests again, tries a network fetch
// (which a sandbox policy should block), and reports usage. Deletes itself when the turn ends.
class Turn : public QObject
{
    Q_OBJECT
public:
    Turn(Agent *agent, Session &session, QJsonArray prompt, airlock::agent::RpcResponder responder);
    void start();
    void cancel();

private:
    struct Run {
        bool started = false; // false: terminal/create was refused
        QString error;
        int exitCode = -1;
        QString signal;
        QString output;
    };
    using Step = void (Turn::*)();

    // The script, in order.
    void intro();
    void readLinks();
    void readCode();
    void firstTestRun();
    void proposeFix();
    void askPermission();
    void applyFix();
    void secondTestRun();
    void checkUpstream();
    void wrapUp();
    // The other kinds of turn.
    void echo(const QString &text);
    void flood();
    void scripted(); // --script: the steps of a file
    void scriptStep();
    // Misbehaviour, on request.
    void misbehave();
    void crash();

    void next(Step step);
    void finish(const QString &stopReason);
    bool stopIfCancelled();
    void update(const QJsonObject &u);
    void say(const QString &text, bool thought = false);
    void plan(int done, bool inProgress = true);
    void toolCall(const QString &id, const QString &title, const QString &kind, const QJsonObject &extra = {});
    void toolUpdate(const QString &id, const QJsonObject &fields);
    void call(const QString &method, QJsonObject params, std::function<void(const airlock::agent::RpcResult &)> done);
    void readFile(const QString &path, std::function<void(const airlock::agent::RpcResult &)> done, int line = 0, int limit = 0);
    void runCommand(const QString &id, const QString &title, const QString &kind, const QStringList &argv,
                    std::function<void(const Run &)> done);
    QString path(const QString &relative) const;
    bool terse() const;

    Agent *m_agent;
    Session &m_session;
    QJsonArray m_prompt;
    airlock::agent::RpcResponder m_responder;
    bool m_cancelled = false;
    bool m_finished = false;
    QString m_source;      // slugify.sh as read
    QString m_fixed;       // with the fix applied
    int m_fixLine = 0;
    QString m_firstResult; // "3 passed, 2 failed"
    QStringList m_links;   // file paths the prompt pointed at
    quint64 m_inTokens = 0;
    quint64 m_outTokens = 0;
    quint64 m_thoughtTokens = 0;
    QJsonArray m_script;
    qsizetype m_scriptStep = 0;
    QString m_lastTerminal; // the terminalId the last terminal/create returned, for "@TERMINAL@"
};

} // namespace demo
