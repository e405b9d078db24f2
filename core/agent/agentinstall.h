#pragma once

#include "agentcatalogue.h"
#include "error.h"

#include <QObject>
#include <QProcess>

// Installing an agent's ACP adapter with npm into a folder of Airlock's own, at the version its preset
// pins: one folder per agent and version, written to a temporary folder first and renamed into place,
// so a failed or interrupted install never leaves a half one that looks installed.
namespace airlock::agent {

// $AIRLOCK_AGENTS_DIR, else $XDG_DATA_HOME/airlock/agents.
QString agentsDir();
// The folder of this package's pinned version (it may not exist).
QString installDir(const NpmPackage &package);
// The installed program (node_modules/.bin/BIN), or empty when this version is not installed.
QString installedProgram(const NpmPackage &package);

class AgentInstaller : public QObject
{
    Q_OBJECT
public:
    explicit AgentInstaller(QObject *parent = nullptr);
    ~AgentInstaller() override;

    // Starts `npm install`; progress() as npm speaks, then installed() or failed(). Already installed:
    // installed() at once (queued) unless force.
    void install(const AgentProfile &profile, bool force = false);
    void cancel();

Q_SIGNALS:
    void progress(const QString &line);
    void installed(const QString &program);
    void failed(const airlock::Error &error);

private:
    void done(const Result<QString> &result);
    QProcess *m_npm = nullptr;
    NpmPackage m_package;
    QString m_staging;
    QByteArray m_errTail;
};

} // namespace airlock::agent
