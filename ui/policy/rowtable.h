#pragma once

#include "policy/policy.h"

#include <QWidget>

#include <functional>

class QTableWidget;
class QToolButton;

namespace airlock::ui {

class PolicyDocument;

// An editable list inside a policy (mounts, domains, rules …): a table with Add, Remove, Move up and
// Move down. It reads rows from the policy and writes each change back as an undoable edit; the
// callbacks say how rows map onto the policy.
class RowTable : public QWidget
{
    Q_OBJECT
public:
    struct Column {
        Column(QString t, QStringList c = {}, bool isCheck = false)
            : title(std::move(t)), choices(std::move(c)), check(isCheck)
        {
        }
        QString title;
        QStringList choices; // non-empty: a drop-down of these values
        bool check = false;  // a check box ("true"/"false")
    };
    struct Access {
        std::function<int(const policy::Policy &)> count;
        std::function<QStringList(const policy::Policy &, int row)> cells;
        std::function<void(policy::Policy &, int row, int column, const QString &value)> set;
        std::function<void(policy::Policy &)> add;
        std::function<void(policy::Policy &, int row)> remove;
        std::function<void(policy::Policy &, int from, int to)> move; // empty: order does not matter
    };

    RowTable(PolicyDocument *doc, const QString &noun, QList<Column> columns, Access access, QWidget *parent = nullptr);

    void refresh(const policy::Policy &policy);
    void selectRow(int row);
    QTableWidget *table() const { return m_table; }
    int rowCount() const;

private:
    void cellEdited(int row, int column, const QString &value);
    void updateButtons();

    PolicyDocument *m_doc;
    QString m_noun;
    QList<Column> m_columns;
    Access m_access;
    QTableWidget *m_table;
    QToolButton *m_add, *m_remove, *m_up, *m_down;
    bool m_refreshing = false;
};

} // namespace airlock::ui
