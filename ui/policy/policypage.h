#pragma once

#include "policy/policy.h"

#include <QWidget>

#include <functional>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLineEdit;

namespace airlock::ui {

class LimitEdit;
class PolicyDocument;
class RowTable;

// One section of the policy editor. Controls are bound to fields: the page pushes an undoable edit
// when the user changes a control, and refreshes every control from the document when it changes
// (undo, redo, a fix, a preset), so the controls never hold state of their own.
class PolicyPage : public QWidget
{
    Q_OBJECT
public:
    PolicyPage(PolicyDocument *doc, const QString &section, const QString &title, QWidget *parent = nullptr);

    const QString &section() const { return m_section; } // first segment of the JSON paths it shows
    const QString &title() const { return m_title; }
    // Moves focus to the control for a JSON path such as "filesystem.mounts[2].host".
    void focusPath(const QString &path);
    // Whether a control on this page shows that JSON path.
    bool hasPath(const QString &path) const { return bindingFor(path) != nullptr; }

protected:
    using Getter = std::function<QString(const policy::Policy &)>;

    QFormLayout *form() const { return m_form; }
    void addHeading(const QString &text);
    void addNote(const QString &text);
    QCheckBox *addCheck(const QString &path, const QString &label, std::function<bool(const policy::Policy &)> get,
                        std::function<void(policy::Policy &, bool)> set);
    QLineEdit *addText(const QString &path, const QString &label, Getter get,
                       std::function<void(policy::Policy &, const QString &)> set, const QString &placeholder = {});
    // A choice among an enum's JSON names, shown with friendlier labels where given.
    template<typename E>
    QComboBox *addChoice(const QString &path, const QString &label, std::function<E(const policy::Policy &)> get, std::function<void(policy::Policy &, E)> set,
                         const QStringList &labels = {});
    LimitEdit *addLimit(const QString &path, const QString &label, LimitEdit *edit,
                        std::function<std::optional<double>(const policy::Policy &)> get,
                        std::function<void(policy::Policy &, std::optional<double>)> set);
    RowTable *addTable(const QString &path, const QString &label, RowTable *table);

    void bind(const QString &path, QWidget *control, std::function<void(const policy::Policy &)> refresh);
    void edit(const QString &text, const std::function<void(policy::Policy &)> &change, const QString &mergeKey = {});
    QComboBox *makeChoice(const QString &path, const QString &label, const QStringList &names, const QStringList &labels,
                          std::function<int(const policy::Policy &)> get, std::function<void(policy::Policy &, int)> set);

private:
    struct Binding;
    const Binding *bindingFor(const QString &path) const;
    void refresh();

    PolicyDocument *m_doc;
    QString m_section, m_title;
    QFormLayout *m_form;
    struct Binding {
        QString path;
        QWidget *control;
        std::function<void(const policy::Policy &)> refresh;
    };
    QList<Binding> m_bindings;
};

template<typename E>
QComboBox *PolicyPage::addChoice(const QString &path, const QString &label, std::function<E(const policy::Policy &)> get, std::function<void(policy::Policy &, E)> set,
                                 const QStringList &labels)
{
    QStringList names;
    QList<E> values;
    for (const auto &entry : policy::enumNames<E>()) {
        names << QString::fromLatin1(entry.name);
        values << entry.value;
    }
    return makeChoice(
        path, label, names, labels, [get, values](const policy::Policy &p) { return int(values.indexOf(get(p))); },
        [set, values](policy::Policy &p, int i) { set(p, values.at(i)); });
}

} // namespace airlock::ui
