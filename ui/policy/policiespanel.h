#pragma once

#include <QPointer>
#include <QWidget>

class QLabel;
class QListWidget;

namespace airlock::store {
class EventStore;
}

namespace airlock::ui {

class PolicyEditor;

// The Policy dock: the presets and saved policies, each opening in the visual editor.
class PoliciesPanel : public QWidget
{
    Q_OBJECT
public:
    PoliciesPanel(const QString &databasePath, store::EventStore *store, QWidget *parent = nullptr);

    void reload();
    // Opens (or raises) the editor for a policy by name.
    PolicyEditor *edit(const QString &name);
    QListWidget *list() const { return m_list; }

private:
    QString m_databasePath;
    store::EventStore *m_store;
    QListWidget *m_list;
    QLabel *m_error;
    QHash<QString, QPointer<PolicyEditor>> m_editors;
};

} // namespace airlock::ui
