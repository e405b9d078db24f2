// airlock-demo-agent: a scripted ACP agent with no model, for demos and tests. It speaks ACP v1 on
// stdin/stdout, fixes the failing test of Airlock's demo workspace through the client's file and
// terminal methods, and can be told to misbehave in the ways a real agent might.
#include "demoagent.h"

#include "agent/jsonrpcconnection.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <poll.h>
#include <unistd.h>

namespace {

// Blocking and complete: the script's order is the order on the wire, and a client that stops
// reading stops the agent rather than growing a buffer.
void writeAll(const QByteArray &bytes)
{
    const char *p = bytes.constData();
    qsizetype left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(STDOUT_FILENO, p, size_t(left));
        if (n > 0) {
            p += n;
            left -= n;
        } else if (n < 0 && errno == EAGAIN) {
            pollfd pfd{STDOUT_FILENO, POLLOUT, 0};
            ::poll(&pfd, 1, -1);
        } else if (n < 0 && errno != EINTR) {
            std::_Exit(0); // the client has gone: nobody is left to talk to
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("airlock-demo-agent"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));
    std::signal(SIGPIPE, SIG_IGN);

    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "A scripted ACP agent with no model. Speaks ACP on stdin/stdout; open a session on a copy of "
        "Airlock's demo workspace and send any prompt (or \"/echo TEXT\")."));
    p.addHelpOption();
    p.addVersionOption();
    const QCommandLineOption pace(QStringLiteral("pace-ms"), QStringLiteral("Wait this long between steps (default 0)."), QStringLiteral("MS"), QStringLiteral("0"));
    const QCommandLineOption stateDir(QStringLiteral("state-dir"), QStringLiteral("Keep session histories here, so session/load works after a restart."), QStringLiteral("DIR"));
    const QCommandLineOption auth(QStringLiteral("require-auth"), QStringLiteral("Refuse sessions until the client authenticates."));
    const QCommandLineOption garbage(QStringLiteral("garbage"), QStringLiteral("Misbehave: write junk lines and malformed messages mid-turn."));
    const QCommandLineOption wrongTypes(QStringLiteral("wrong-types"), QStringLiteral("Misbehave: send updates with fields of the wrong type."));
    const QCommandLineOption unknown(QStringLiteral("unknown-updates"), QStringLiteral("Misbehave: send update kinds no client knows."));
    const QCommandLineOption repeat(QStringLiteral("repeat-tool-call"), QStringLiteral("Misbehave: announce the same tool call id twice."));
    const QCommandLineOption huge(QStringLiteral("huge-message"), QStringLiteral("Misbehave: send one message of this many MB mid-turn."), QStringLiteral("MB"));
    const QCommandLineOption crash(QStringLiteral("crash-mid-turn"), QStringLiteral("Misbehave: die half-way through a message mid-turn."));
    const QCommandLineOption silence(QStringLiteral("silence"), QStringLiteral("Misbehave: from this request on (initialize or prompt), answer nothing."), QStringLiteral("STAGE"));
    const QCommandLineOption script(QStringLiteral("script"), QStringLiteral("Make every turn the steps of this JSON file: session/updates and requests to the client, whose answers are said back (tests play hostile agents with it)."), QStringLiteral("FILE"));
    const QCommandLineOption flood(QStringLiteral("flood"), QStringLiteral("Make every turn just N updates, as fast as possible (benchmarks)."), QStringLiteral("N"));
    for (const auto &o : {pace, stateDir, auth, garbage, wrongTypes, unknown, repeat, huge, crash, silence, flood, script})
        p.addOption(o);
    p.process(app);

    demo::Options options;
    bool ok = true;
    options.paceMs = p.value(pace).toInt(&ok);
    if (!ok || options.paceMs < 0)
        p.showHelp(2);
    options.stateDir = p.value(stateDir);
    options.requireAuth = p.isSet(auth);
    options.garbage = p.isSet(garbage);
    options.wrongTypes = p.isSet(wrongTypes);
    options.unknownUpdates = p.isSet(unknown);
    options.repeatToolCall = p.isSet(repeat);
    options.crashMidTurn = p.isSet(crash);
    if (p.isSet(huge)) {
        options.hugeMessageMB = p.value(huge).toInt(&ok);
        if (!ok || options.hugeMessageMB < 1 || options.hugeMessageMB > 4096)
            p.showHelp(2);
    }
    if (p.isSet(silence)) {
        const QString stage = p.value(silence);
        if (stage == QLatin1String("initialize"))
            options.silence = demo::Options::Silence::Initialize;
        else if (stage == QLatin1String("prompt"))
            options.silence = demo::Options::Silence::Prompt;
        else
            p.showHelp(2);
    }
    options.script = p.value(script);
    if (p.isSet(flood)) {
        options.flood = p.value(flood).toInt(&ok);
        if (!ok || options.flood < 1)
            p.showHelp(2);
    }

    airlock::agent::JsonRpcConnection rpc;
    rpc.setWriter([](const QByteArray &bytes) {
        writeAll(bytes);
        return true;
    });
    demo::Agent agent(options, &rpc, writeAll);

    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &app, [&] {
        char buffer[64 * 1024];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n > 0) {
            rpc.receive(QByteArrayView(buffer, n));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            input.setEnabled(false);
            rpc.finishInput();
            QCoreApplication::quit(); // the client closed our input: the session is over
        }
    });
    return app.exec();
}
