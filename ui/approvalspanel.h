#pragma once

#include "store/event.h"

#include <QWidget>

class QHBoxLayout;
class QLabel;
class QTreeWidget;

namespace airlock::store {
class EventStore;
}

namespace airlock::ui {

// The approvals inbox: every request waiting for a person, from all sessions, oldest first. An
// answer is written to the store (approval.answered), so it reaches the session wherever it runs —
// this window, another one, or airlockctl run; the row closes when the session acts on it.
class ApprovalsPanel : public QWidget
{
    Q_OBJECT
public:
    ApprovalsPanel(store::EventStore *store, QWidget *parent = nullptr);

    void setApprovals(const QList<store::ApprovalRow> &open);
    // Answers the selected request with the option of this ACP kind (allow_once, allow_always,
    // reject_once, reject_always); false when there is no such option or nothing is selected.
    bool answerSelected(const QString &optionKind);
    QTreeWidget *list() const { return m_list; }
    int openCount() const { return int(m_rows.size()); }

Q_SIGNALS:
    void countChanged(int open);
    void showSession(const QString &sessionId);

private:
    void showSelected();
    bool answer(const store::ApprovalRow &row, const QJsonObject &option);
    const store::ApprovalRow *selected() const;

    store::EventStore *m_store;
    QTreeWidget *m_list;
    QLabel *m_detail;
    QLabel *m_status;
    QWidget *m_buttons;
    QHBoxLayout *m_buttonRow;
    QList<store::ApprovalRow> m_rows;
};

} // namespace airlock::ui
