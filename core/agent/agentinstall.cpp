#include "agentinstall.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTimer>
#include <QUuid>

namespace airlock::agent {

namespace {
constexpr int kNpmTimeoutMs = 10 * 60 * 1000;
} // namespace

QString agentsDir()
{
    const QString set = qEnvironmentVariable("AIRLOCK_AGENTS_DIR");
    if (!set.isEmpty())
        return QDir(set).absolutePath();
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QStringLiteral("/airlock/agents");
}

QString installDir(const NpmPackage &package)
{
    QString name = package.name;
    name.replace(u'/', u'+');
    return agentsDir() + u'/' + name + u'@' + package.version;
}

QString installedProgram(const NpmPackage &package)
{
    if (!package.isSet())
        return {};
    const QFileInfo bin(installDir(package) + QStringLiteral("/node_modules/.bin/") + package.bin);
    return bin.exists() && bin.isExecutable() ? bin.absoluteFilePath() : QString();
}

AgentInstaller::AgentInstaller(QObject *parent) : QObject(parent) {}

AgentInstaller::~AgentInstaller()
{
    cancel();
}

void AgentInstaller::install(const AgentProfile &profile, bool force)
{
    m_package = profile.package;
    if (!m_package.isSet()) {
        QTimer::singleShot(0, this, [this, name = profile.name] {
            done(fail(ErrorCode::InvalidArgument,
                      tr("%1 is not installed by Airlock; install it yourself and store its command with "
                         "airlockctl agents add").arg(name)));
        });
        return;
    }
    const QString target = installDir(m_package);
    if (!force && !installedProgram(m_package).isEmpty()) {
        QTimer::singleShot(0, this, [this] { done(installedProgram(m_package)); });
        return;
    }
    const QString npm = QStandardPaths::findExecutable(QStringLiteral("npm"));
    if (npm.isEmpty()) {
        QTimer::singleShot(0, this, [this] {
            done(fail(ErrorCode::NotFound, tr("npm was not found on PATH; install Node.js 18 or newer with npm "
                                              "(sudo apt install nodejs npm)")));
        });
        return;
    }
    if (!QDir().mkpath(agentsDir())) {
        QTimer::singleShot(0, this, [this] { done(fail(ErrorCode::Io, tr("cannot create %1").arg(agentsDir()))); });
        return;
    }
    m_staging = target + QStringLiteral(".partial-") + QUuid::createUuid().toString(QUuid::Id128).left(8);
    QDir().mkpath(m_staging);
    m_npm = new QProcess(this);
    m_npm->setProgram(npm);
    // Only what is needed to run: no dev dependencies, no audit or funding requests, no update check;
    // the lock file npm writes records exactly what was installed.
    m_npm->setArguments({QStringLiteral("install"), QStringLiteral("--prefix"), m_staging, QStringLiteral("--omit=dev"),
                         QStringLiteral("--no-audit"), QStringLiteral("--no-fund"), QStringLiteral("--no-update-notifier"),
                         QStringLiteral("--loglevel=http"), m_package.name + u'@' + m_package.version});
    m_npm->setWorkingDirectory(m_staging);
    connect(m_npm, &QProcess::readyReadStandardError, this, [this] {
        const QByteArray chunk = m_npm->readAllStandardError();
        m_errTail = QByteArray(m_errTail + chunk).right(4000);
        for (const QByteArray &line : chunk.split('\n'))
            if (!line.trimmed().isEmpty())
                Q_EMIT progress(QString::fromUtf8(line.trimmed()));
    });
    connect(m_npm, &QProcess::readyReadStandardOutput, this, [this] {
        for (const QByteArray &line : m_npm->readAllStandardOutput().split('\n'))
            if (!line.trimmed().isEmpty())
                Q_EMIT progress(QString::fromUtf8(line.trimmed()));
    });
    connect(m_npm, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart)
            done(fail(ErrorCode::Io, tr("npm could not start: %1").arg(m_npm->errorString())));
    });
    connect(m_npm, &QProcess::finished, this, [this, target](int code, QProcess::ExitStatus status) {
        if (status != QProcess::NormalExit || code != 0) {
            done(fail(ErrorCode::Io, tr("npm install %1@%2 failed (exit %3): %4")
                                         .arg(m_package.name, m_package.version)
                                         .arg(code)
                                         .arg(QString::fromUtf8(m_errTail).trimmed().right(800))));
            return;
        }
        const QFileInfo bin(m_staging + QStringLiteral("/node_modules/.bin/") + m_package.bin);
        if (!bin.exists()) {
            done(fail(ErrorCode::Io, tr("npm installed %1, but it has no program %2").arg(m_package.name, m_package.bin)));
            return;
        }
        // Into place in one rename; an older copy of the same version (a forced reinstall) goes first.
        if (QFileInfo::exists(target))
            QDir(target).removeRecursively();
        if (!QDir().rename(m_staging, target)) {
            done(fail(ErrorCode::Io, tr("cannot move the install into %1").arg(target)));
            return;
        }
        m_staging.clear();
        done(installedProgram(m_package));
    });
    QTimer::singleShot(kNpmTimeoutMs, m_npm, [this] {
        if (m_npm && m_npm->state() != QProcess::NotRunning) {
            m_npm->kill();
            done(fail(ErrorCode::Io, tr("npm install did not finish within %1 minutes").arg(kNpmTimeoutMs / 60000)));
        }
    });
    Q_EMIT progress(tr("npm install %1@%2 into %3").arg(m_package.name, m_package.version, target));
    m_npm->start();
}

void AgentInstaller::cancel()
{
    if (m_npm && m_npm->state() != QProcess::NotRunning) {
        m_npm->disconnect(this);
        m_npm->kill();
        m_npm->waitForFinished(2000);
    }
    if (!m_staging.isEmpty())
        QDir(m_staging).removeRecursively();
    m_staging.clear();
}

void AgentInstaller::done(const Result<QString> &result)
{
    if (m_npm) {
        m_npm->disconnect(this);
        m_npm->deleteLater();
        m_npm = nullptr;
    }
    if (!m_staging.isEmpty())
        QDir(m_staging).removeRecursively();
    m_staging.clear();
    if (result)
        Q_EMIT installed(*result);
    else
        Q_EMIT failed(result.error());
}

} // namespace airlock::agent
