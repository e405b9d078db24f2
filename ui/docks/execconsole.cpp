#include "execconsole.h"
#include "futures.h"

#include "docktext.h"
#include "sandbox/sandboxmanager.h"

#include <QFontDatabase>
#include <QFuture>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTextCursor>
#include <QVBoxLayout>

#include <optional>

namespace airlock::ui {

namespace {
constexpr int kMaxBlocks = 5000; // lines kept in the pane

// Words as a POSIX shell splits them: 'single' and "double" quotes, backslash escapes; no
// expansion, globbing, pipes or redirection (the command runs without a shell). Nothing for an
// unterminated quote.
std::optional<QStringList> splitWords(const QString &line)
{
    QStringList words;
    QString word;
    bool inWord = false;
    for (qsizetype i = 0; i < line.size(); ++i) {
        const QChar c = line.at(i);
        if (c == u'\\') {
            if (++i < line.size())
                word += line.at(i);
            inWord = true;
        } else if (c == u'\'') {
            const qsizetype end = line.indexOf(u'\'', i + 1);
            if (end < 0)
                return std::nullopt;
            word += line.mid(i + 1, end - i - 1);
            i = end;
            inWord = true;
        } else if (c == u'"') {
            for (++i;; ++i) {
                if (i >= line.size())
                    return std::nullopt;
                if (line.at(i) == u'"')
                    break;
                // Inside double quotes a backslash only escapes what would otherwise be special.
                if (line.at(i) == u'\\' && i + 1 < line.size() && QStringView(u"\"\\$`").contains(line.at(i + 1)))
                    ++i;
                word += line.at(i);
            }
            inWord = true;
        } else if (c.isSpace()) {
            if (inWord)
                words << word;
            word.clear();
            inWord = false;
        } else {
            word += c;
            inWord = true;
        }
    }
    if (inWord)
        words << word;
    return words;
}

} // namespace

ExecConsole::ExecConsole(sandbox::SandboxManager *manager, QWidget *parent)
    : QWidget(parent), m_manager(manager), m_command(new QLineEdit(this)), m_run(new QPushButton(tr("&Run"), this)),
      m_stop(new QPushButton(tr("Stop Command"), this)), m_output(new QPlainTextEdit(this)),
      m_error(docks::makeErrorLabel(QStringLiteral("execError"), this))
{
    m_command->setObjectName(QStringLiteral("execCommand"));
    m_command->setPlaceholderText(tr("Command to run in the selected sandbox, e.g. ls -la"));
    m_command->setAccessibleName(tr("Command"));
    m_command->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_command->setClearButtonEnabled(true);
    m_run->setObjectName(QStringLiteral("execRun"));
    m_stop->setObjectName(QStringLiteral("execStop"));
    m_stop->setToolTip(tr("Kill the running command (Ctrl+C)"));
    m_output->setObjectName(QStringLiteral("execOutput"));
    m_output->setReadOnly(true);
    m_output->setAccessibleName(tr("Command output"));
    m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_output->setMaximumBlockCount(kMaxBlocks);
    m_output->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_output->setPlaceholderText(tr("Output appears here."));

    auto *row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(m_command, 1);
    row->addWidget(m_run);
    row->addWidget(m_stop);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(row);
    layout->addWidget(m_output, 1);
    layout->addWidget(m_error);

    connect(m_command, &QLineEdit::returnPressed, this, &ExecConsole::run);
    connect(m_run, &QPushButton::clicked, this, &ExecConsole::run);
    connect(m_stop, &QPushButton::clicked, this, &ExecConsole::stop);
    m_command->installEventFilter(this);
    m_output->installEventFilter(this);
    updateControls();
}

ExecConsole::~ExecConsole()
{
    if (sandbox::SandboxProcess *p = m_process.data()) {
        disconnect(p, nullptr, this, nullptr);
        if (!p->isFinished())
            p->kill();
        p->deleteLater();
    }
}

void ExecConsole::setSandbox(const QString &id, bool running)
{
    m_sandbox = id;
    m_sandboxRunning = running;
    updateControls();
}

void ExecConsole::updateControls()
{
    const bool busy = m_process != nullptr;
    m_command->setEnabled(!m_sandbox.isEmpty());
    m_run->setEnabled(!busy && m_sandboxRunning && m_manager);
    m_stop->setEnabled(busy);
}

bool ExecConsole::eventFilter(QObject *watched, QEvent *event)
{
    // Ctrl+C kills the running command unless there is a selection to copy.
    if (m_process && (event->type() == QEvent::ShortcutOverride || event->type() == QEvent::KeyPress)) {
        auto *key = static_cast<QKeyEvent *>(event);
        const bool selection = watched == m_command ? m_command->hasSelectedText() : m_output->textCursor().hasSelection();
        if (key->matches(QKeySequence::Copy) && !selection) {
            event->accept();
            if (event->type() == QEvent::KeyPress)
                stop();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void ExecConsole::append(const QString &text, Stream stream)
{
    QTextCharFormat format;
    const QPalette &p = palette();
    switch (stream) {
    case Stream::Input:
        format.setFontWeight(QFont::Bold);
        break;
    case Stream::Err:
        format.setForeground(docks::mix(p.color(QPalette::Text), QColor(0xe0, 0x30, 0x30), 0.7));
        break;
    case Stream::Note:
        format.setForeground(p.color(QPalette::PlaceholderText));
        format.setFontItalic(true);
        break;
    case Stream::Out:
        break;
    }
    QTextCursor cursor(m_output->document());
    cursor.movePosition(QTextCursor::End);
    cursor.insertText(text, format);
    if (!text.isEmpty())
        m_lineOpen = !text.endsWith(u'\n');
    m_output->ensureCursorVisible();
    m_output->moveCursor(QTextCursor::End);
}

void ExecConsole::run()
{
    if (m_process || m_sandbox.isEmpty() || !m_manager)
        return;
    const QString line = m_command->text().trimmed();
    const std::optional<QStringList> words = splitWords(line);
    if (!words) {
        docks::showError(m_error, tr("The command has an unterminated quote."));
        return;
    }
    const QStringList argv = *words;
    if (argv.isEmpty())
        return;
    docks::showError(m_error, {});
    sandbox::ExecRequest request;
    request.argv = argv;
    request.inheritEnv = true;
    if (m_lineOpen)
        append(QStringLiteral("\n"), Stream::Out);
    append(QStringLiteral("$ %1\n").arg(line), Stream::Input);
    Result<sandbox::SandboxProcess *> p = m_manager->exec(m_sandbox, request);
    if (!p) {
        finish(tr("could not run: %1").arg(p.error().message), false);
        docks::showError(m_error, tr("Could not run the command in %1: %2").arg(m_sandbox, p.error().message));
        Q_EMIT commandFailed(p.error().message);
        return;
    }
    m_process = *p;
    connect(m_process, &sandbox::SandboxProcess::stdoutReceived, this,
            [this](const QByteArray &chunk) { append(QString::fromUtf8(chunk), Stream::Out); });
    connect(m_process, &sandbox::SandboxProcess::stderrReceived, this,
            [this](const QByteArray &chunk) { append(QString::fromUtf8(chunk), Stream::Err); });
    connect(m_process, &sandbox::SandboxProcess::finished, this, [this](const sandbox::ExitStatus &s) {
        finish(tr("%1 after %2").arg(s.reason(), docks::formatDuration(qint64(s.durationMs))), s.succeeded());
        Q_EMIT commandFinished(s);
    });
    connect(m_process, &sandbox::SandboxProcess::failed, this, [this](const Error &e) {
        finish(tr("failed: %1").arg(e.message), false);
        docks::showError(m_error, tr("The command failed: %1").arg(e.message));
        Q_EMIT commandFailed(e.message);
    });
    // A process goes with its sandbox; destroyed without an ending means the sandbox went first.
    connect(m_process, &QObject::destroyed, this, [this] {
        m_process = nullptr;
        finish(tr("the sandbox went away"), false);
    });
    updateControls();
}

void ExecConsole::finish(const QString &line, bool ok)
{
    if (m_lineOpen)
        append(QStringLiteral("\n"), Stream::Out);
    append(QStringLiteral("[%1]\n").arg(line), ok ? Stream::Note : Stream::Err);
    if (m_process) {
        disconnect(m_process, nullptr, this, nullptr);
        m_process->deleteLater();
        m_process = nullptr;
    }
    updateControls();
}

void ExecConsole::stop()
{
    if (!m_process)
        return;
    append(QStringLiteral("^C\n"), Stream::Note);
    airlock::then(m_process->kill(), this, [this](const Result<void> &r) {
        if (!r)
            docks::showError(m_error, tr("Could not kill the command: %1").arg(r.error().message));
    });
}

} // namespace airlock::ui
