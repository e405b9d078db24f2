#pragma once

#include "policy/policy.h"

#include <QObject>
#include <QUndoStack>

#include <functional>

namespace airlock::ui {

// The policy being edited. Every change goes through edit(), which records the whole value before
// and after as one undoable command, so undo, redo, "modified" and the saved-version diff all come
// from plain value comparison. Consecutive edits of the same field (typing in a box, spinning a
// number) share a merge key and collapse into one undo step.
class PolicyDocument : public QObject
{
    Q_OBJECT
public:
    explicit PolicyDocument(QObject *parent = nullptr);

    const policy::Policy &policy() const { return m_policy; }
    const policy::Policy &saved() const { return m_saved; }
    int savedVersion() const { return m_savedVersion; }
    bool isModified() const { return m_policy != m_saved; }
    QUndoStack *undoStack() { return &m_undo; }

    // Starts editing a stored (or new, version 0) policy; clears the undo history.
    void load(const policy::Policy &policy, int savedVersion);
    // Records that the current value was saved as a version.
    void markSaved(int version);

    // Applies `change` to a copy of the policy and pushes it as an undoable command named `text`.
    // A non-empty mergeKey merges with the previous command when it has the same key.
    void edit(const QString &text, const std::function<void(policy::Policy &)> &change,
              const QString &mergeKey = {});
    // Replaces the whole value as one step (a preset, an import, a lint fix).
    void replace(const QString &text, const policy::Policy &value);

Q_SIGNALS:
    void changed();
    void modifiedChanged(bool modified);

private:
    friend class PolicyEditCommand;
    void set(const policy::Policy &value);

    policy::Policy m_policy;
    policy::Policy m_saved;
    int m_savedVersion = 0;
    bool m_wasModified = false;
    QUndoStack m_undo;
};

} // namespace airlock::ui
