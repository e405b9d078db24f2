#include "testhandler.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

using namespace airlock;
using namespace airlock::agent;

TestHandler::TestHandler(QString root, QObject *parent)
    : QObject(parent), m_root(QFileInfo(root).canonicalFilePath())
{
}

TestHandler::~TestHandler()
{
    for (const auto &t : std::as_const(m_terminals)) {
        if (t->process) {
            t->process->disconnect();
            t->process->kill();
            t->process->waitForFinished(2000);
            delete t->process;
        }
    }
}

Result<QString> TestHandler::confine(const QString &path) const
{
    const QString clean = QDir::cleanPath(path);
    if (clean != m_root && !clean.startsWith(m_root + u'/'))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is outside the workspace").arg(path));
    return clean;
}

acp::PermissionOutcome TestHandler::choose(const acp::PermissionRequest &request, acp::PermissionKind kind)
{
    for (const auto &o : request.options)
        if (o.kind == kind)
            return acp::PermissionOutcome::select(o.id);
    return acp::PermissionOutcome::cancel();
}

void TestHandler::requestPermission(const acp::PermissionRequest &request, AcpReply<acp::PermissionOutcome> reply)
{
    permissions.append(request);
    log.append(QStringLiteral("session/request_permission %1").arg(request.toolCall.id));
    const Answer a = answerFor.value(request.sessionId, answer);
    switch (a) {
    case Answer::AllowOnce: reply.ok(choose(request, acp::PermissionKind::AllowOnce)); break;
    case Answer::AllowAlways: reply.ok(choose(request, acp::PermissionKind::AllowAlways)); break;
    case Answer::RejectOnce: reply.ok(choose(request, acp::PermissionKind::RejectOnce)); break;
    case Answer::RejectAlways: reply.ok(choose(request, acp::PermissionKind::RejectAlways)); break;
    case Answer::Hold:
        reply.onCancelled([this] { ++withdrawn; });
        held.append(reply);
        break;
    }
}

void TestHandler::readTextFile(const acp::ReadTextFileRequest &request, AcpReply<QString> reply)
{
    QString entry = QStringLiteral("fs/read_text_file %1").arg(request.path);
    if (request.line || request.limit)
        entry += QStringLiteral(" line=%1 limit=%2").arg(request.line.value_or(0)).arg(request.limit.value_or(0));
    log.append(entry);
    auto path = confine(request.path);
    if (!path)
        return reply.fail(path.error());
    QFile f(*path);
    if (!f.open(QIODevice::ReadOnly))
        return reply.fail(Error{ErrorCode::NotFound, QStringLiteral("cannot read %1: %2").arg(request.path, f.errorString())});
    QString text = QString::fromUtf8(f.readAll());
    if (request.line || request.limit) {
        QStringList lines = text.split(u'\n');
        const qsizetype from = qsizetype(request.line.value_or(1)) - 1;
        lines = lines.mid(std::max<qsizetype>(0, from), request.limit ? qsizetype(*request.limit) : -1);
        text = lines.join(u'\n');
    }
    reply.ok(text);
}

void TestHandler::writeTextFile(const acp::WriteTextFileRequest &request, AcpReply<void> reply)
{
    log.append(QStringLiteral("fs/write_text_file %1").arg(request.path));
    auto path = confine(request.path);
    if (!path)
        return reply.fail(path.error());
    QFile f(*path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(request.content.toUtf8()) < 0)
        return reply.fail(Error{ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(request.path, f.errorString())});
    reply.ok();
}

void TestHandler::createTerminal(const acp::CreateTerminalRequest &request, AcpReply<QString> reply)
{
    log.append(QStringLiteral("terminal/create %1").arg((QStringList{request.command} + request.args).join(u' ')));
    if (refuseTerminal) {
        const QString why = refuseTerminal(request);
        if (!why.isEmpty())
            return reply.fail(Error{ErrorCode::InvalidArgument, why});
    }
    const QString cwd = request.cwd.isEmpty() ? m_root : request.cwd;
    if (auto ok = confine(cwd); !ok)
        return reply.fail(ok.error());
    auto t = std::make_shared<Terminal>();
    t->limit = request.outputByteLimit.value_or(1024 * 1024);
    t->process = new QProcess;
    t->process->setProcessChannelMode(QProcess::MergedChannels);
    t->process->setWorkingDirectory(cwd);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const auto &v : request.env)
        env.insert(v.name, v.value);
    t->process->setProcessEnvironment(env);
    const QString id = QStringLiteral("term-%1").arg(m_nextTerminal++);
    std::weak_ptr<Terminal> weak = t;
    QObject::connect(t->process, &QProcess::readyRead, this, [weak] {
        auto term = weak.lock();
        if (!term)
            return;
        term->output += term->process->readAll();
        if (quint64(term->output.size()) > term->limit) {
            // Keep the end, as ACP asks, starting on a character boundary.
            qsizetype cut = term->output.size() - qsizetype(term->limit);
            while (cut < term->output.size() && (uchar(term->output.at(cut)) & 0xC0) == 0x80)
                ++cut;
            term->output.remove(0, cut);
            term->truncated = true;
        }
    });
    QObject::connect(t->process, &QProcess::finished, this, [weak](int code, QProcess::ExitStatus status) {
        auto term = weak.lock();
        if (!term)
            return;
        acp::TerminalExitStatus s;
        if (status == QProcess::NormalExit)
            s.exitCode = quint32(code);
        else
            s.signal = QStringLiteral("SIGKILL");
        term->exit = s;
        for (const auto &w : std::as_const(term->waiters))
            w.ok(s);
        term->waiters.clear();
    });
    QObject::connect(t->process, &QProcess::errorOccurred, this, [weak](QProcess::ProcessError e) {
        auto term = weak.lock();
        if (!term || e != QProcess::FailedToStart)
            return;
        term->exit = acp::TerminalExitStatus{127, {}};
        for (const auto &w : std::as_const(term->waiters))
            w.ok(*term->exit);
        term->waiters.clear();
    });
    m_terminals.insert(id, t);
    t->process->start(request.command, request.args);
    reply.ok(id);
}

TestHandler::Terminal *TestHandler::terminal(const acp::TerminalRequest &request, const AcpReplyBase &reply)
{
    auto it = m_terminals.constFind(request.terminalId);
    if (it == m_terminals.constEnd()) {
        reply.fail(Error{ErrorCode::NotFound, QStringLiteral("no terminal %1").arg(request.terminalId)});
        return nullptr;
    }
    return it->get();
}

void TestHandler::terminalOutput(const acp::TerminalRequest &request, AcpReply<acp::TerminalOutput> reply)
{
    log.append(QStringLiteral("terminal/output %1").arg(request.terminalId));
    if (Terminal *t = terminal(request, reply))
        reply.ok(acp::TerminalOutput{QString::fromUtf8(t->output), t->truncated, t->exit});
}

void TestHandler::waitForTerminalExit(const acp::TerminalRequest &request, AcpReply<acp::TerminalExitStatus> reply)
{
    log.append(QStringLiteral("terminal/wait_for_exit %1").arg(request.terminalId));
    if (Terminal *t = terminal(request, reply)) {
        if (t->exit)
            reply.ok(*t->exit);
        else
            t->waiters.append(reply);
    }
}

void TestHandler::killTerminal(const acp::TerminalRequest &request, AcpReply<void> reply)
{
    log.append(QStringLiteral("terminal/kill %1").arg(request.terminalId));
    if (Terminal *t = terminal(request, reply)) {
        t->process->kill();
        reply.ok();
    }
}

void TestHandler::releaseTerminal(const acp::TerminalRequest &request, AcpReply<void> reply)
{
    log.append(QStringLiteral("terminal/release %1").arg(request.terminalId));
    auto t = m_terminals.take(request.terminalId);
    if (!t)
        return reply.fail(Error{ErrorCode::NotFound, QStringLiteral("no terminal %1").arg(request.terminalId)});
    t->process->disconnect(this);
    if (t->process->state() != QProcess::NotRunning) {
        t->process->kill();
        t->process->waitForFinished(2000);
    }
    for (const auto &w : std::as_const(t->waiters))
        w.fail(Error{ErrorCode::Cancelled, QStringLiteral("the terminal was released")});
    delete t->process;
    t->process = nullptr;
    reply.ok();
}
