#pragma once

#include "error.h"

#include <QPointer>
#include <QWidget>

#include <functional>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace airlock::egress {
class EgressProxy;
struct EgressRecord;
}
namespace airlock::store {
class EventStore;
}

namespace airlock::ui {

class EgressFilter;
class EgressModel;
class EgressReader;

// The Egress dock: every connection a sandbox made through the proxy, live across sessions, with
// session, host and decision filters. A denied host can be allowed for its session (a runtime rule,
// in force for new connections at once, in this process's proxy and in any other through the store)
// or always (a new version of the session's policy, plus the runtime rule so it applies now).
class EgressPanel : public QWidget
{
    Q_OBJECT
public:
    EgressPanel(const QString &databasePath, store::EventStore *store, QWidget *parent = nullptr);
    ~EgressPanel() override;

    // The running proxy of this process, when there is one: rules and policy changes go to it
    // directly. May stay null; the store then carries them to whichever process runs the proxy.
    void setProxy(egress::EgressProxy *proxy);
    // How "Allow Always" changes a policy: given its name, the host and a note, add the host to its
    // allow list and save; returns the new version. The window routes this through the policy
    // editor, so the change is one undoable step there. Unset, the panel saves the version itself.
    using PolicyChange = std::function<Result<int>(const QString &policy, const QString &host, const QString &note)>;
    void setPolicyChange(PolicyChange change) { m_policyChange = std::move(change); }

    EgressModel *model() const { return m_model; }
    EgressFilter *filter() const { return m_filter; }
    QTableView *view() const { return m_view; }
    // The record of the current row, or null.
    const egress::EgressRecord *currentRecord() const;

public Q_SLOTS:
    void allowForSession();
    void allowAlways();

Q_SIGNALS:
    // "Allow always" saved version `version` of policy `name` (the policy editor may want to reload).
    void policySaved(const QString &name, int version);

private:
    PolicyChange m_policyChange;
    void updateActions();
    void updateEmptyState();
    void showContextMenu(const QPoint &pos);
    bool addRuntimeRule(const egress::EgressRecord &record, const QString &note);
    void report(const QString &message);

    QString m_databasePath;
    QPointer<store::EventStore> m_store;
    QPointer<egress::EgressProxy> m_proxy;
    EgressModel *m_model;
    EgressFilter *m_filter;
    EgressReader *m_reader;
    QComboBox *m_session;
    QLineEdit *m_host;
    QComboBox *m_decision;
    QStackedWidget *m_stack;
    QTableView *m_view;
    QLabel *m_empty;
    QPushButton *m_allowSession;
    QPushButton *m_allowAlways;
    QAction *m_allowSessionAction;
    QAction *m_allowAlwaysAction;
    QLabel *m_status;
    QLabel *m_error;
    bool m_follow = true; // keep the newest row in view while the user is at the bottom
};

} // namespace airlock::ui
