#pragma once

#include "policy/hostfacts.h"
#include "policy/linter.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTreeWidget;

namespace airlock::ui {

class PolicyDocument;

// Lint findings and validation errors for the document, each with its JSON path; activating one asks
// to show the field, and "Apply fix" pushes the finding's fix as one undoable edit.
class FindingsPanel : public QWidget
{
    Q_OBJECT
public:
    FindingsPanel(PolicyDocument *doc, policy::HostFacts facts, QWidget *parent = nullptr);
    void update();
    QTreeWidget *list() const { return m_list; }
    QPushButton *fixButton() const { return m_fix; }
    const QList<policy::Finding> &findings() const { return m_findings; }
    int errorCount() const { return m_errors; }

Q_SIGNALS:
    void showPath(const QString &path);

private:
    void applySelectedFix();

    PolicyDocument *m_doc;
    policy::HostFacts m_facts;
    QTreeWidget *m_list;
    QPushButton *m_fix;
    QLabel *m_summary;
    QList<policy::Finding> m_findings;
    int m_errors = 0;
};

// The compiled bubblewrap command and Docker container for the document, for reading and copying.
class PreviewPanel : public QWidget
{
    Q_OBJECT
public:
    PreviewPanel(PolicyDocument *doc, bool docker, QWidget *parent = nullptr);
    void update();
    QString text() const;

private:
    PolicyDocument *m_doc;
    bool m_docker;
    QPlainTextEdit *m_text;
};

// The canonical JSON's changes against the saved version.
class DiffPanel : public QWidget
{
    Q_OBJECT
public:
    explicit DiffPanel(PolicyDocument *doc, QWidget *parent = nullptr);
    void update();
    QString text() const;

private:
    PolicyDocument *m_doc;
    QPlainTextEdit *m_text;
};

// "Would this be allowed?": a tool call in, the decision and the rule that made it out.
class TesterPanel : public QWidget
{
    Q_OBJECT
public:
    explicit TesterPanel(PolicyDocument *doc, QWidget *parent = nullptr);
    void update();
    QString result() const;

private:
    PolicyDocument *m_doc;
    QComboBox *m_kind;
    QLineEdit *m_command, *m_path, *m_domain;
    QLabel *m_result;
};

} // namespace airlock::ui
