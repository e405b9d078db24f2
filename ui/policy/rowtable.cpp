#include "rowtable.h"

#include "policydocument.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace airlock::ui {

RowTable::RowTable(PolicyDocument *doc, const QString &noun, QList<Column> columns, Access access, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_noun(noun), m_columns(std::move(columns)), m_access(std::move(access)),
      m_table(new QTableWidget(this)), m_add(new QToolButton(this)), m_remove(new QToolButton(this)),
      m_up(new QToolButton(this)), m_down(new QToolButton(this))
{
    m_table->setColumnCount(int(m_columns.size()));
    QStringList titles;
    for (const Column &c : std::as_const(m_columns))
        titles << c.title;
    m_table->setHorizontalHeaderLabels(titles);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setVisible(false);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setMinimumHeight(110);
    m_table->setTabKeyNavigation(false); // Tab leaves the table; arrows move inside it

    const struct {
        QToolButton *button;
        QString text, tip;
    } buttons[] = {{m_add, tr("Add"), tr("Add a %1").arg(noun)},
                   {m_remove, tr("Remove"), tr("Remove the selected %1").arg(noun)},
                   {m_up, tr("Up"), tr("Move the selected %1 up").arg(noun)},
                   {m_down, tr("Down"), tr("Move the selected %1 down").arg(noun)}};
    auto *bar = new QHBoxLayout;
    for (const auto &b : buttons) {
        b.button->setText(b.text);
        b.button->setToolTip(b.tip);
        b.button->setAccessibleName(b.tip);
        bar->addWidget(b.button);
    }
    bar->addStretch(1);
    m_up->setVisible(bool(m_access.move));
    m_down->setVisible(bool(m_access.move));

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_table);
    layout->addLayout(bar);

    connect(m_add, &QToolButton::clicked, this, [this] {
        const int row = rowCount();
        m_doc->edit(tr("Add %1").arg(m_noun), m_access.add);
        selectRow(row);
        if (m_table->item(row, 0))
            m_table->editItem(m_table->item(row, 0));
    });
    connect(m_remove, &QToolButton::clicked, this, [this] {
        const int row = m_table->currentRow();
        if (row < 0)
            return;
        m_doc->edit(tr("Remove %1").arg(m_noun), [&](policy::Policy &p) { m_access.remove(p, row); });
        selectRow(std::min(row, rowCount() - 1));
    });
    auto mover = [this](int delta) {
        const int row = m_table->currentRow(), to = row + delta;
        if (row < 0 || to < 0 || to >= rowCount())
            return;
        m_doc->edit(tr("Move %1").arg(m_noun), [&](policy::Policy &p) { m_access.move(p, row, to); });
        selectRow(to);
    };
    connect(m_up, &QToolButton::clicked, this, [mover] { mover(-1); });
    connect(m_down, &QToolButton::clicked, this, [mover] { mover(+1); });
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *item) {
        if (!m_refreshing)
            cellEdited(item->row(), item->column(), item->text());
    });
    connect(m_table, &QTableWidget::currentCellChanged, this, &RowTable::updateButtons);
    updateButtons();
}

int RowTable::rowCount() const
{
    return m_access.count(m_doc->policy());
}

void RowTable::cellEdited(int row, int column, const QString &value)
{
    m_doc->edit(tr("Edit %1").arg(m_noun), [&](policy::Policy &p) { m_access.set(p, row, column, value); },
                QStringLiteral("%1/%2/%3").arg(objectName()).arg(row).arg(column));
}

void RowTable::refresh(const policy::Policy &p)
{
    m_refreshing = true;
    const int rows = m_access.count(p);
    const int current = m_table->currentRow();
    m_table->setRowCount(rows);
    for (int r = 0; r < rows; ++r) {
        const QStringList cells = m_access.cells(p, r);
        for (int c = 0; c < m_columns.size(); ++c) {
            const Column &col = m_columns.at(c);
            const QString value = cells.value(c);
            if (col.check) {
                auto *box = qobject_cast<QCheckBox *>(m_table->cellWidget(r, c));
                if (!box) {
                    box = new QCheckBox(m_table);
                    box->setAccessibleName(col.title);
                    m_table->setCellWidget(r, c, box);
                    connect(box, &QCheckBox::toggled, this, [this, box, c](bool on) {
                        for (int row = 0; row < m_table->rowCount(); ++row)
                            if (m_table->cellWidget(row, c) == box)
                                cellEdited(row, c, on ? QStringLiteral("true") : QStringLiteral("false"));
                    });
                }
                const QSignalBlocker block(box);
                box->setChecked(value == QLatin1String("true"));
            } else if (!col.choices.isEmpty()) {
                auto *combo = qobject_cast<QComboBox *>(m_table->cellWidget(r, c));
                if (!combo) {
                    combo = new QComboBox(m_table);
                    combo->addItems(col.choices);
                    combo->setAccessibleName(col.title);
                    m_table->setCellWidget(r, c, combo);
                    connect(combo, &QComboBox::activated, this, [this, combo, c](int) {
                        for (int row = 0; row < m_table->rowCount(); ++row)
                            if (m_table->cellWidget(row, c) == combo)
                                cellEdited(row, c, combo->currentText());
                    });
                }
                const QSignalBlocker block(combo);
                combo->setCurrentIndex(int(col.choices.indexOf(value)));
            } else {
                QTableWidgetItem *item = m_table->item(r, c);
                if (!item)
                    m_table->setItem(r, c, item = new QTableWidgetItem);
                if (item->text() != value)
                    item->setText(value);
            }
        }
    }
    if (current >= 0 && current < rows)
        m_table->setCurrentCell(current, std::max(0, m_table->currentColumn()));
    m_refreshing = false;
    updateButtons();
}

void RowTable::selectRow(int row)
{
    if (row < 0 || row >= m_table->rowCount())
        return;
    m_table->setCurrentCell(row, 0);
    m_table->setFocus(Qt::OtherFocusReason);
}

void RowTable::updateButtons()
{
    const int row = m_table->currentRow();
    m_remove->setEnabled(row >= 0);
    m_up->setEnabled(row > 0);
    m_down->setEnabled(row >= 0 && row + 1 < m_table->rowCount());
}

} // namespace airlock::ui
