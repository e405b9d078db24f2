#pragma once

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QString>

#include <memory>

// What this machine can run, rung by rung (bubblewrap, Docker, gVisor), and the keychain and the
// store, each with what to do about it: `airlockctl doctor` and the window's Check Setup dialog.

namespace airlock::docker {
class DockerBackend;
}

namespace airlock::setup {

struct Check
{
    enum class State { Ok, Warn, Fail, Absent };
    QString name; // bubblewrap, docker, gvisor, keychain, store
    State state = State::Ok;
    QString detail;
    QString fix; // a command or a step; empty when nothing is to be done

    QJsonObject toJson() const;
};
QString stateName(Check::State state); // ok, warn, fail, absent

// Runs the checks once; finished() carries them in the order above. The Docker ones ask the daemon
// without blocking the event loop; the keychain is asked on the session bus (bounded by a timeout).
class SetupChecker : public QObject
{
    Q_OBJECT
public:
    explicit SetupChecker(QString databasePath, QObject *parent = nullptr);
    ~SetupChecker() override;

    void start();

Q_SIGNALS:
    void finished(const QList<airlock::setup::Check> &checks);

private:
    void dockerDone(Check docker, const QJsonObject &info);

    QString m_databasePath;
    std::unique_ptr<docker::DockerBackend> m_docker;
    QList<Check> m_checks;
};

} // namespace airlock::setup
Q_DECLARE_METATYPE(airlock::setup::Check)
