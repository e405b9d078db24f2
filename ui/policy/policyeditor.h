#pragma once

#include "error.h"

#include <QMainWindow>

class QLabel;
class QListWidget;
class QStackedWidget;
class QTabWidget;

namespace airlock::store {
class EventStore;
}

namespace airlock::ui {

class DiffPanel;
class FindingsPanel;
class PolicyDocument;
class PolicyPage;
class PresetLadder;
class PreviewPanel;
class TesterPanel;

// The visual policy editor: a page per section on the left, the preset ladder on top, and live
// panels — findings with fixes, what will run (bubblewrap, Docker), the changes against the saved
// version, and a "would this be allowed?" tester — on the right. Every change is undoable; saving
// records a new version in the store.
class PolicyEditor : public QMainWindow
{
    Q_OBJECT
public:
    PolicyEditor(const QString &databasePath, store::EventStore *store, QWidget *parent = nullptr);
    ~PolicyEditor() override;

    // Opens a saved policy or a preset by name (the newest version).
    Result<void> openPolicy(const QString &name);
    // Saves as the next version; false (with the reason shown) when the policy is invalid.
    bool save(const QString &note = {});
    bool importFile(const QString &path);
    bool exportFile(const QString &path);

    PolicyDocument *document() const { return m_doc; }
    const QString &policyName() const { return m_name; }
    const QList<PolicyPage *> &pages() const { return m_pages; }
    void showPage(int index);
    int currentPage() const;
    void showPath(const QString &path);
    FindingsPanel *findingsPanel() const { return m_findings; }
    PreviewPanel *bwrapPanel() const { return m_bwrap; }
    PreviewPanel *dockerPanel() const { return m_docker; }
    DiffPanel *diffPanel() const { return m_diff; }
    TesterPanel *testerPanel() const { return m_tester; }
    QTabWidget *sideTabs() const { return m_side; }
    PresetLadder *presetLadder() const { return m_ladder; }

Q_SIGNALS:
    void saved(const QString &name, int version);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createMenus();
    QWidget *createLadder();
    void scheduleUpdate();
    void updatePanels();
    void updateTitle();

    QString m_databasePath;
    store::EventStore *m_store;
    PolicyDocument *m_doc;
    QString m_name;
    QList<PolicyPage *> m_pages;
    QListWidget *m_sections;
    QStackedWidget *m_stack;
    QTabWidget *m_side;
    FindingsPanel *m_findings;
    PreviewPanel *m_bwrap, *m_docker;
    DiffPanel *m_diff;
    TesterPanel *m_tester;
    PresetLadder *m_ladder = nullptr;
    QLabel *m_status;
    bool m_updatePending = false;
};

} // namespace airlock::ui
