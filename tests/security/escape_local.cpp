// The escape suite's target: a local bubblewrap sandbox under the Standard preset.

#include "escapetarget.h"

#include "sandbox/sandboxtestutil.h"

#include <QFileInfo>

namespace airlock::sandbox::test {

namespace {

class LocalTarget final : public EscapeTarget
{
public:
    QString name() const override { return QStringLiteral("bubblewrap, Standard"); }
    QString unavailable() override
    {
        const QString why = bwrapUnavailable();
        return why.isEmpty() ? QString() : QStringLiteral("bubblewrap cannot create sandboxes here: ") + why;
    }
    bool prepare(QString *) override
    {
        m_fixture.resetBackend(); // it reads HOME, which the test has just replaced
        return true;
    }
    QString root() const override { return m_fixture.path(); }
    QString workspace() const override { return m_fixture.workspace(); }
    QString runtimeRoot() const override { return m_fixture.runtimeRoot(); }
    QString scratch() const override { return m_fixture.workspace(); }

    policy::Policy policy() const override { return testPolicy(); }
    policy::Policy writable() const override { return testPolicy(); } // Standard's workspace is writable

    Sandbox *start(const policy::Policy &p) override { return m_fixture.start(m_fixture.spec(p)); }
    bool destroy(Sandbox *s) override { return destroyAndWait(s); }
    QString leftovers(const QString &id, const QString &) override
    {
        return QFileInfo::exists(m_fixture.sandboxDir(id)) ? QStringLiteral("its runtime folder ") + m_fixture.sandboxDir(id) : QString();
    }

private:
    SandboxFixture m_fixture;
};

} // namespace

std::unique_ptr<EscapeTarget> makeEscapeTarget()
{
    return std::make_unique<LocalTarget>();
}

} // namespace airlock::sandbox::test
