#include "policydocument.h"

#include <QStringList>
#include <QUndoCommand>

namespace airlock::ui {

namespace {
// Merge keys become small integer ids, as QUndoCommand::id() wants.
// A policy has a few dozen fields, so a list is as quick as a hash here. UI thread only.
int mergeId(const QString &key)
{
    static QStringList keys;
    if (key.isEmpty())
        return -1;
    qsizetype i = keys.indexOf(key);
    if (i < 0) {
        keys.append(key);
        i = keys.size() - 1;
    }
    return int(i) + 1;
}
} // namespace

class PolicyEditCommand : public QUndoCommand
{
public:
    PolicyEditCommand(PolicyDocument *doc, const QString &text, policy::Policy before, policy::Policy after, int id)
        : QUndoCommand(text), m_doc(doc), m_before(std::move(before)), m_after(std::move(after)), m_id(id)
    {
    }
    void undo() override { m_doc->set(m_before); }
    void redo() override { m_doc->set(m_after); }
    int id() const override { return m_id; }
    bool mergeWith(const QUndoCommand *other) override
    {
        const auto *o = static_cast<const PolicyEditCommand *>(other);
        if (o->m_doc != m_doc)
            return false;
        m_after = o->m_after;
        setObsolete(m_after == m_before); // typed and then typed back: nothing to undo
        return true;
    }

private:
    PolicyDocument *m_doc;
    policy::Policy m_before, m_after;
    int m_id;
};

PolicyDocument::PolicyDocument(QObject *parent) : QObject(parent) {}

void PolicyDocument::load(const policy::Policy &value, int savedVersion)
{
    m_undo.clear();
    m_saved = value;
    m_savedVersion = savedVersion;
    set(value);
}

void PolicyDocument::markSaved(int version)
{
    m_saved = m_policy;
    m_savedVersion = version;
    m_undo.setClean();
    set(m_policy);
}

void PolicyDocument::edit(const QString &text, const std::function<void(policy::Policy &)> &change,
                          const QString &mergeKey)
{
    policy::Policy after = m_policy;
    change(after);
    if (after == m_policy)
        return;
    m_undo.push(new PolicyEditCommand(this, text, m_policy, std::move(after), mergeId(mergeKey)));
}

void PolicyDocument::replace(const QString &text, const policy::Policy &value)
{
    if (value == m_policy)
        return;
    m_undo.push(new PolicyEditCommand(this, text, m_policy, value, -1));
}

void PolicyDocument::set(const policy::Policy &value)
{
    m_policy = value;
    Q_EMIT changed();
    const bool modified = isModified();
    if (modified != m_wasModified) {
        m_wasModified = modified;
        Q_EMIT modifiedChanged(modified);
    }
}

} // namespace airlock::ui
