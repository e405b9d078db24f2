#include "policyeditor.h"

#include "policy/codec.h"
#include "policy/hostfacts.h"
#include "policy/policylibrary.h"
#include "policy/presets.h"
#include "policydocument.h"
#include "policypage.h"
#include "policypages.h"
#include "policypanels.h"
#include "presetladder.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QAction>
#include <QCloseEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QUndoStack>
#include <QVBoxLayout>

namespace airlock::ui {

PolicyEditor::PolicyEditor(const QString &databasePath, store::EventStore *store, QWidget *parent)
    : QMainWindow(parent), m_databasePath(databasePath), m_store(store), m_doc(new PolicyDocument(this)),
      m_sections(new QListWidget(this)), m_stack(new QStackedWidget(this)), m_side(new QTabWidget(this)),
      m_status(new QLabel(this))
{
    setObjectName(QStringLiteral("policyEditor"));
    setAttribute(Qt::WA_DeleteOnClose, false);
    resize(1280, 820);

    m_pages = createPolicyPages(m_doc, this);
    m_sections->setObjectName(QStringLiteral("policySections"));
    m_sections->setAccessibleName(tr("Policy sections"));
    for (PolicyPage *page : std::as_const(m_pages)) {
        m_sections->addItem(page->title());
        auto *scroll = new QScrollArea(this);
        scroll->setWidget(page);
        scroll->setWidgetResizable(true);
        scroll->setFrameShape(QFrame::NoFrame);
        m_stack->addWidget(scroll);
    }
    m_sections->setMaximumWidth(180);
    connect(m_sections, &QListWidget::currentRowChanged, m_stack, &QStackedWidget::setCurrentIndex);

    const policy::HostFacts facts = policy::probeHostFacts();
    m_findings = new FindingsPanel(m_doc, facts, this);
    m_bwrap = new PreviewPanel(m_doc, false, this);
    m_docker = new PreviewPanel(m_doc, true, this);
    m_diff = new DiffPanel(m_doc, this);
    m_tester = new TesterPanel(m_doc, this);
    m_side->setObjectName(QStringLiteral("policySideTabs"));
    m_side->addTab(m_findings, tr("Findings"));
    m_side->addTab(m_bwrap, tr("bwrap"));
    m_side->addTab(m_docker, tr("Docker"));
    m_side->addTab(m_diff, tr("Changes"));
    m_side->addTab(m_tester, tr("Tester"));
    connect(m_findings, &FindingsPanel::showPath, this, &PolicyEditor::showPath);

    auto *splitter = new QSplitter(this);
    splitter->addWidget(m_sections);
    splitter->addWidget(m_stack);
    splitter->addWidget(m_side);
    splitter->setStretchFactor(1, 3);
    splitter->setStretchFactor(2, 2);
    splitter->setSizes({170, 640, 470});

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->addWidget(createLadder());
    layout->addWidget(splitter, 1);
    setCentralWidget(central);
    statusBar()->addWidget(m_status, 1);
    createMenus();

    connect(m_doc, &PolicyDocument::changed, this, &PolicyEditor::scheduleUpdate);
    connect(m_doc->undoStack(), &QUndoStack::cleanChanged, this, &PolicyEditor::updateTitle);
    m_sections->setCurrentRow(0);
    updateTitle();
}

QWidget *PolicyEditor::createLadder()
{
    m_ladder = new PresetLadder(m_databasePath, this);
    connect(m_ladder, &PresetLadder::presetChosen, this, [this](int i) {
        const auto &preset = policy::presets().at(i);
        m_doc->replace(tr("Use preset %1").arg(preset.policy.name), preset.policy);
    });
    return m_ladder;
}

void PolicyEditor::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *save = file->addAction(tr("&Save Version…"), this, [this] {
        bool ok = false;
        const QString note = QInputDialog::getText(this, tr("Save policy"), tr("What changed (optional):"),
                                                   QLineEdit::Normal, QString(), &ok);
        if (ok)
            this->save(note);
    });
    save->setShortcut(QKeySequence::Save);
    save->setObjectName(QStringLiteral("actionSave"));
    file->addAction(tr("&Import…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Import policy"), {}, tr("Policies (*.json)"));
        if (!path.isEmpty())
            importFile(path);
    });
    file->addAction(tr("&Export…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export policy"), m_name + QStringLiteral(".json"),
                                                          tr("Policies (*.json)"));
        if (!path.isEmpty())
            exportFile(path);
    });
    file->addSeparator();
    file->addAction(tr("&Close"), this, &QWidget::close)->setShortcut(QKeySequence::Close);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *undo = m_doc->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    undo->setObjectName(QStringLiteral("actionUndo"));
    QAction *redo = m_doc->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    redo->setObjectName(QStringLiteral("actionRedo"));
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu *go = menuBar()->addMenu(tr("&Go"));
    for (int i = 0; i < m_pages.size(); ++i) {
        QAction *a = go->addAction(m_pages.at(i)->title(), this, [this, i] { showPage(i); });
        a->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
    }
    go->addSeparator();
    go->addAction(tr("&Findings"), this, [this] { m_side->setCurrentWidget(m_findings); })
        ->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+F")));
}

PolicyEditor::~PolicyEditor()
{
    // The document (and its undo stack) is deleted after this object's own part is gone, and says
    // things while it goes: nothing may hear them, neither this half-destroyed editor nor the panels
    // that read the half-destroyed document.
    m_doc->undoStack()->disconnect();
    m_doc->disconnect();
}

Result<void> PolicyEditor::openPolicy(const QString &name)
{
    auto reader = store::StoreReader::open(m_databasePath);
    if (!reader)
        return std::unexpected(reader.error());
    auto entry = policy::findPolicy(*reader, name);
    if (!entry)
        return std::unexpected(entry.error());
    m_name = name;
    m_doc->load(entry->policy, entry->version);
    updatePanels(); // at once: a freshly opened editor never shows the previous policy's panels
    return {};
}

bool PolicyEditor::save(const QString &note)
{
    if (const auto issues = policy::validatePolicy(m_doc->policy()); !issues.isEmpty()) {
        m_status->setText(tr("Not saved: %1").arg(issues.first().toString()));
        showPath(issues.first().path);
        return false;
    }
    if (!m_store) {
        m_status->setText(tr("Not saved: no database is open."));
        return false;
    }
    auto reader = store::StoreReader::open(m_databasePath);
    if (!reader) {
        m_status->setText(tr("Not saved: %1").arg(reader.error().message));
        return false;
    }
    auto version = policy::savePolicy(*m_store, *reader, m_name, m_doc->policy(), note);
    if (!version) {
        m_status->setText(tr("Not saved: %1").arg(version.error().message));
        return false;
    }
    m_doc->markSaved(*version);
    m_status->setText(tr("Saved %1 as version %2.").arg(m_name).arg(*version));
    updateTitle();
    Q_EMIT saved(m_name, *version);
    return true;
}

bool PolicyEditor::importFile(const QString &path)
{
    auto loaded = policy::loadPolicyFile(path);
    if (!loaded) {
        QMessageBox box(QMessageBox::Warning, tr("Import policy"), tr("%1 is not a valid policy.").arg(path),
                        QMessageBox::Ok, this);
        box.setDetailedText(loaded.error().message);
        box.exec();
        return false;
    }
    m_doc->replace(tr("Import %1").arg(path), *loaded);
    m_status->setText(tr("Imported %1; save to keep it as a new version.").arg(path));
    return true;
}

bool PolicyEditor::exportFile(const QString &path)
{
    QSaveFile f(path);
    const QByteArray text = policy::serializePolicy(m_doc->policy());
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size() || !f.commit()) {
        m_status->setText(tr("Export failed: %1").arg(f.errorString()));
        return false;
    }
    m_status->setText(tr("Exported to %1.").arg(path));
    return true;
}

void PolicyEditor::showPage(int index)
{
    m_sections->setCurrentRow(index);
}

int PolicyEditor::currentPage() const
{
    return m_sections->currentRow();
}

void PolicyEditor::showPath(const QString &path)
{
    for (int i = 0; i < m_pages.size(); ++i) {
        if (m_pages.at(i)->hasPath(path)) {
            showPage(i);
            m_pages.at(i)->focusPath(path);
            return;
        }
    }
}

void PolicyEditor::scheduleUpdate()
{
    // A burst of edits (typing, a preset) recomputes lint, compilers and diff once.
    if (m_updatePending)
        return;
    m_updatePending = true;
    QTimer::singleShot(0, this, &PolicyEditor::updatePanels);
}

void PolicyEditor::updatePanels()
{
    m_updatePending = false;
    m_findings->update();
    m_bwrap->update();
    m_docker->update();
    m_diff->update();
    m_tester->update();
    m_side->setTabText(0, m_findings->findings().isEmpty() && m_findings->errorCount() == 0
                              ? tr("Findings")
                              : tr("Findings (%1)").arg(m_findings->findings().size() + m_findings->errorCount()));
    updateTitle();
}

void PolicyEditor::updateTitle()
{
    const QString version = m_doc->savedVersion() > 0 ? tr("version %1").arg(m_doc->savedVersion()) : tr("preset");
    setWindowTitle(tr("Policy %1 — %2[*]").arg(m_name, version));
    setWindowModified(m_doc->isModified());
}

void PolicyEditor::closeEvent(QCloseEvent *event)
{
    if (!m_doc->isModified()) {
        event->accept();
        return;
    }
    const auto answer = QMessageBox::question(this, tr("Unsaved changes"),
                                              tr("Save the changes to %1 as a new version?").arg(m_name),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel || (answer == QMessageBox::Save && !save()))
        event->ignore();
    else
        event->accept();
}

} // namespace airlock::ui
