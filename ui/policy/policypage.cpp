#include "policypage.h"

#include "limitedit.h"
#include "policydocument.h"
#include "rowtable.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>

namespace airlock::ui {

PolicyPage::PolicyPage(PolicyDocument *doc, const QString &section, const QString &title, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_section(section), m_title(title), m_form(new QFormLayout(this))
{
    setObjectName(QStringLiteral("policyPage_") + section);
    setAccessibleName(title);
    m_form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    m_form->setRowWrapPolicy(QFormLayout::DontWrapRows);
    connect(doc, &PolicyDocument::changed, this, &PolicyPage::refresh);
}

void PolicyPage::addHeading(const QString &text)
{
    auto *label = new QLabel(QStringLiteral("<b>%1</b>").arg(text.toHtmlEscaped()), this);
    m_form->addRow(label);
}

void PolicyPage::addNote(const QString &text)
{
    auto *label = new QLabel(text, this);
    label->setWordWrap(true);
    label->setForegroundRole(QPalette::PlaceholderText);
    m_form->addRow(label);
}

void PolicyPage::bind(const QString &path, QWidget *control, std::function<void(const policy::Policy &)> refreshFn)
{
    control->setObjectName(QStringLiteral("field_") + path);
    refreshFn(m_doc->policy());
    m_bindings.append({path, control, std::move(refreshFn)});
}

void PolicyPage::edit(const QString &text, const std::function<void(policy::Policy &)> &change, const QString &mergeKey)
{
    m_doc->edit(text, change, mergeKey);
}

void PolicyPage::refresh()
{
    const policy::Policy &p = m_doc->policy();
    for (const Binding &b : std::as_const(m_bindings)) {
        const QSignalBlocker blocker(b.control);
        b.refresh(p);
    }
}

const PolicyPage::Binding *PolicyPage::bindingFor(const QString &path) const
{
    // The longest bound path that the finding's path starts with names the control.
    const Binding *best = nullptr;
    for (const Binding &b : m_bindings) {
        if ((path == b.path || path.startsWith(b.path + u'.') || path.startsWith(b.path + u'['))
            && (!best || b.path.size() > best->path.size()))
            best = &b;
    }
    return best;
}

void PolicyPage::focusPath(const QString &path)
{
    const Binding *best = bindingFor(path);
    if (!best)
        return;
    if (auto *table = qobject_cast<RowTable *>(best->control)) {
        const QString rest = path.mid(best->path.size());
        const int row = rest.startsWith(u'[') ? rest.mid(1, rest.indexOf(u']') - 1).toInt() : 0;
        table->selectRow(row);
        return;
    }
    best->control->setFocus(Qt::OtherFocusReason);
}

QCheckBox *PolicyPage::addCheck(const QString &path, const QString &label,
                                std::function<bool(const policy::Policy &)> get,
                                std::function<void(policy::Policy &, bool)> set)
{
    auto *box = new QCheckBox(label, this);
    box->setAccessibleName(label);
    m_form->addRow(QString(), box);
    bind(path, box, [box, get](const policy::Policy &p) { box->setChecked(get(p)); });
    connect(box, &QCheckBox::toggled, this, [this, set, label](bool on) {
        edit(tr("%1: %2").arg(label, on ? tr("on") : tr("off")), [&](policy::Policy &p) { set(p, on); });
    });
    return box;
}

QLineEdit *PolicyPage::addText(const QString &path, const QString &label, Getter get,
                               std::function<void(policy::Policy &, const QString &)> set, const QString &placeholder)
{
    auto *line = new QLineEdit(this);
    line->setAccessibleName(label);
    line->setPlaceholderText(placeholder);
    m_form->addRow(label, line);
    bind(path, line, [line, get](const policy::Policy &p) {
        if (line->text() != get(p))
            line->setText(get(p));
    });
    // Typing merges into one undo step per field.
    connect(line, &QLineEdit::textEdited, this, [this, set, label, path](const QString &text) {
        edit(tr("Edit %1").arg(label), [&](policy::Policy &p) { set(p, text); }, path);
    });
    return line;
}

QComboBox *PolicyPage::makeChoice(const QString &path, const QString &label, const QStringList &names,
                                  const QStringList &labels, std::function<int(const policy::Policy &)> get,
                                  std::function<void(policy::Policy &, int)> set)
{
    auto *combo = new QComboBox(this);
    combo->setAccessibleName(label);
    for (qsizetype i = 0; i < names.size(); ++i)
        combo->addItem(i < labels.size() ? labels.at(i) : names.at(i), names.at(i));
    m_form->addRow(label, combo);
    bind(path, combo, [combo, get](const policy::Policy &p) { combo->setCurrentIndex(get(p)); });
    connect(combo, &QComboBox::activated, this, [this, set, label, combo](int i) {
        edit(tr("%1: %2").arg(label, combo->itemText(i)), [&](policy::Policy &p) { set(p, i); });
    });
    return combo;
}

LimitEdit *PolicyPage::addLimit(const QString &path, const QString &label, LimitEdit *limit,
                                std::function<std::optional<double>(const policy::Policy &)> get,
                                std::function<void(policy::Policy &, std::optional<double>)> set)
{
    limit->setParent(this);
    limit->setAccessibleName(label);
    m_form->addRow(label, limit);
    bind(path, limit, [limit, get](const policy::Policy &p) { limit->setValue(get(p)); });
    connect(limit, &LimitEdit::edited, this, [this, set, label, path](std::optional<double> v) {
        edit(tr("Edit %1").arg(label), [&](policy::Policy &p) { set(p, v); }, path);
    });
    return limit;
}

RowTable *PolicyPage::addTable(const QString &path, const QString &label, RowTable *table)
{
    table->setParent(this);
    table->setAccessibleName(label);
    m_form->addRow(new QLabel(label, this));
    m_form->addRow(table);
    bind(path, table, [table](const policy::Policy &p) { table->refresh(p); });
    return table;
}

} // namespace airlock::ui
