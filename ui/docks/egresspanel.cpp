#include "egresspanel.h"

#include "docktext.h"
#include "egress/egressproxy.h"
#include "egress/egressrecord.h"
#include "egressmodel.h"
#include "egressreader.h"
#include "policy/policylibrary.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QScrollBar>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
constexpr int kCapacity = 10000;
constexpr int kPollMs = 250;
const auto kOrigin = QStringLiteral("gui");
} // namespace

EgressPanel::EgressPanel(const QString &databasePath, store::EventStore *store, QWidget *parent)
    : QWidget(parent), m_databasePath(databasePath), m_store(store), m_model(new EgressModel(this)),
      m_filter(new EgressFilter(this)), m_reader(new EgressReader(databasePath, this)), m_session(new QComboBox(this)),
      m_host(new QLineEdit(this)), m_decision(new QComboBox(this)), m_stack(new QStackedWidget(this)),
      m_view(new QTableView(this)), m_empty(docks::makeEmptyLabel(QStringLiteral("egressEmpty"), this)),
      m_allowSession(new QPushButton(tr("Allow for This &Session"), this)),
      m_allowAlways(new QPushButton(tr("Allow A&lways"), this)),
      m_allowSessionAction(new QAction(tr("Allow for This Session"), this)),
      m_allowAlwaysAction(new QAction(tr("Allow Always (Add to Policy)"), this)), m_status(new QLabel(this)),
      m_error(docks::makeErrorLabel(QStringLiteral("egressError"), this))
{
    setObjectName(QStringLiteral("egressPanel"));
    setAccessibleName(tr("Egress log"));
    setAccessibleDescription(tr("Every network connection a sandbox makes through Airlock's proxy, live across sessions; "
                                "allow a denied host for its session or always."));
    m_model->setCapacity(kCapacity);
    m_filter->setSourceModel(m_model);

    m_session->setObjectName(QStringLiteral("egressSessionFilter"));
    m_session->setAccessibleName(tr("Session"));
    m_session->addItem(tr("All sessions"), QString());
    m_session->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_host->setObjectName(QStringLiteral("egressHostFilter"));
    m_host->setPlaceholderText(tr("Filter by host"));
    m_host->setAccessibleName(tr("Host filter"));
    m_host->setClearButtonEnabled(true);
    m_decision->setObjectName(QStringLiteral("egressDecisionFilter"));
    m_decision->setAccessibleName(tr("Decision"));
    m_decision->addItem(tr("Any decision"), QString());
    m_decision->addItem(tr("Allowed"), egress::verdictName(egress::Verdict::Allow));
    m_decision->addItem(tr("Denied"), egress::verdictName(egress::Verdict::Deny));

    m_view->setObjectName(QStringLiteral("egressView"));
    m_view->setAccessibleName(tr("Egress log"));
    m_view->setModel(m_filter);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setTabKeyNavigation(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    const int widths[] = {70, 90, 70, 200, 70, 220, 70, 70, 70};
    for (int c = 0; c < int(std::size(widths)); ++c)
        m_view->setColumnWidth(c, widths[c]);
    m_stack->addWidget(m_view);
    m_stack->addWidget(m_empty);

    m_allowSession->setObjectName(QStringLiteral("egressAllowSession"));
    m_allowSession->setToolTip(tr("Allow this host for the row's session, for new connections at once (A)"));
    m_allowAlways->setObjectName(QStringLiteral("egressAllowAlways"));
    m_allowAlways->setToolTip(tr("Add this host to the allow list of the session's policy and save a new version "
                                 "(Shift+A)"));
    m_allowSessionAction->setObjectName(QStringLiteral("actionEgressAllowSession"));
    m_allowSessionAction->setShortcut(QKeySequence(QStringLiteral("A")));
    m_allowSessionAction->setShortcutContext(Qt::WidgetShortcut);
    m_allowAlwaysAction->setObjectName(QStringLiteral("actionEgressAllowAlways"));
    m_allowAlwaysAction->setShortcut(QKeySequence(QStringLiteral("Shift+A")));
    m_allowAlwaysAction->setShortcutContext(Qt::WidgetShortcut);
    m_view->addAction(m_allowSessionAction);
    m_view->addAction(m_allowAlwaysAction);
    m_status->setObjectName(QStringLiteral("egressStatus"));
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::PlainText);
    m_status->setForegroundRole(QPalette::PlaceholderText);

    auto *filters = new QHBoxLayout;
    filters->setContentsMargins(0, 0, 0, 0);
    filters->addWidget(m_session);
    filters->addWidget(m_host, 1);
    filters->addWidget(m_decision);
    auto *buttons = new QHBoxLayout;
    buttons->setContentsMargins(0, 0, 0, 0);
    buttons->addWidget(m_allowSession);
    buttons->addWidget(m_allowAlways);
    buttons->addWidget(m_status, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addWidget(m_stack, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_error);

    connect(m_session, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setSession(m_session->currentData().toString());
        updateEmptyState();
    });
    connect(m_host, &QLineEdit::textChanged, this, [this](const QString &text) {
        m_filter->setHost(text);
        updateEmptyState();
    });
    connect(m_decision, &QComboBox::currentIndexChanged, this, [this] {
        const QString name = m_decision->currentData().toString();
        m_filter->setDecision(name.isEmpty() ? std::nullopt : egress::parseVerdict(name));
        updateEmptyState();
    });
    connect(m_model, &EgressModel::sessionSeen, this, [this](const QString &session) {
        m_session->addItem(session, session);
    });
    connect(m_allowSession, &QPushButton::clicked, this, &EgressPanel::allowForSession);
    connect(m_allowAlways, &QPushButton::clicked, this, &EgressPanel::allowAlways);
    connect(m_allowSessionAction, &QAction::triggered, this, &EgressPanel::allowForSession);
    connect(m_allowAlwaysAction, &QAction::triggered, this, &EgressPanel::allowAlways);
    connect(m_view, &QWidget::customContextMenuRequested, this, &EgressPanel::showContextMenu);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &EgressPanel::updateActions);

    // Follow the tail while the user is at the bottom; leave the view alone once they scroll up.
    connect(m_view->verticalScrollBar(), &QScrollBar::valueChanged, this,
            [this](int value) { m_follow = value >= m_view->verticalScrollBar()->maximum(); });
    connect(m_filter, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_follow)
            m_view->scrollToBottom();
        updateEmptyState();
    });
    connect(m_filter, &QAbstractItemModel::modelReset, this, [this] {
        m_view->scrollToBottom();
        updateEmptyState();
        updateActions();
    });
    connect(m_filter, &QAbstractItemModel::rowsRemoved, this, &EgressPanel::updateActions);

    connect(m_reader, &EgressReader::history, m_model, &EgressModel::setHistory);
    connect(m_reader, &EgressReader::appended, m_model, &EgressModel::append);
    connect(m_reader, &EgressReader::failed, this,
            [this](const QString &message) { docks::showError(m_error, tr("Cannot read the egress log: %1").arg(message)); });

    setFocusProxy(m_view);
    updateEmptyState();
    updateActions();
    m_reader->start(kCapacity, kPollMs);
}

EgressPanel::~EgressPanel() = default;

void EgressPanel::setProxy(egress::EgressProxy *proxy)
{
    m_proxy = proxy;
}

const egress::EgressRecord *EgressPanel::currentRecord() const
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid())
        return nullptr;
    return m_model->recordAt(m_filter->mapToSource(current).row());
}

void EgressPanel::updateEmptyState()
{
    if (m_filter->rowCount() > 0) {
        m_stack->setCurrentWidget(m_view);
        return;
    }
    m_empty->setText(m_model->rowCount() == 0
                         ? tr("No network connections yet. Every request a sandbox makes through Airlock's egress "
                              "proxy appears here, allowed or denied, from every session.")
                         : tr("No connection matches the filters."));
    m_stack->setCurrentWidget(m_empty);
}

void EgressPanel::updateActions()
{
    const egress::EgressRecord *r = currentRecord();
    const bool denied = r && r->decision == egress::Verdict::Deny && !r->session.isEmpty() && !r->host.isEmpty();
    m_allowSession->setEnabled(denied);
    m_allowSessionAction->setEnabled(denied);
    m_allowAlways->setEnabled(denied && m_store);
    m_allowAlwaysAction->setEnabled(denied && m_store);
}

void EgressPanel::showContextMenu(const QPoint &pos)
{
    const QModelIndex at = m_view->indexAt(pos);
    if (at.isValid())
        m_view->setCurrentIndex(at);
    const egress::EgressRecord *r = currentRecord();
    if (!r)
        return;
    const QString host = r->host;
    const QString session = r->session;
    QMenu menu(this);
    menu.addAction(m_allowSessionAction);
    menu.addAction(m_allowAlwaysAction);
    menu.addSeparator();
    menu.addAction(tr("Copy Host"), this, [host] { QApplication::clipboard()->setText(host); });
    menu.addAction(tr("Show Only This Host"), this, [this, host] { m_host->setText(host); });
    menu.addAction(tr("Show Only Session %1").arg(session), this, [this, session] {
        m_session->setCurrentIndex(std::max(0, m_session->findData(session)));
    });
    menu.exec(at.isValid() ? m_view->viewport()->mapToGlobal(pos)
                           : m_view->viewport()->mapToGlobal(m_view->visualRect(m_view->currentIndex()).center()));
}

void EgressPanel::report(const QString &message)
{
    docks::showError(m_error, {});
    m_status->setText(message);
}

namespace {

// The pattern that allows what the record shows: a rule without ports opens 443 and 80 only, so any
// other port is named.
QString allowPatternFor(const egress::EgressRecord &record)
{
    if (record.port == 0 || record.port == 443 || record.port == 80 || record.host.contains(u':'))
        return record.host;
    return record.host + u':' + QString::number(record.port);
}

} // namespace

bool EgressPanel::addRuntimeRule(const egress::EgressRecord &record, const QString &note)
{
    auto pattern = egress::RuntimeRule::normalizePattern(allowPatternFor(record));
    if (!pattern) {
        docks::showError(m_error, tr("Cannot allow %1: %2").arg(record.host, pattern.error().message));
        return false;
    }
    // The proxy of this process applies it at once and records it; otherwise the store carries it to
    // the proxy of whichever process serves the session, within a quarter of a second.
    if (m_proxy && m_proxy->sessions().contains(record.session)) {
        auto r = m_proxy->addRule(record.session, egress::Verdict::Allow, *pattern, kOrigin, note);
        if (!r) {
            docks::showError(m_error, tr("Could not allow %1 for %2: %3").arg(*pattern, record.session, r.error().message));
            return false;
        }
        return true;
    }
    if (!m_store) {
        docks::showError(m_error, tr("Could not allow %1: no event store is open").arg(*pattern));
        return false;
    }
    egress::RuntimeRule rule;
    rule.session = record.session;
    rule.verdict = egress::Verdict::Allow;
    rule.pattern = *pattern;
    rule.origin = kOrigin;
    rule.note = note;
    if (auto r = m_store->append(record.session, QString::fromLatin1(egress::kinds::Rule), rule.toJson()); !r) {
        docks::showError(m_error, tr("Could not allow %1 for %2: %3").arg(*pattern, record.session, r.error().message));
        return false;
    }
    return true;
}

void EgressPanel::allowForSession()
{
    const egress::EgressRecord *current = currentRecord();
    if (!current || current->decision != egress::Verdict::Deny)
        return;
    const egress::EgressRecord r = *current;
    if (r.rule.startsWith(QLatin1String("policy deny"))) {
        docks::showError(m_error, tr("The policy denies %1 (%2); a rule for this session cannot override that. "
                                     "Edit the policy's deny list instead.")
                                      .arg(r.host, r.rule));
        return;
    }
    if (addRuntimeRule(r, tr("allowed from the egress log")))
        report(tr("Allowed %1 for session %2; new connections go through at once.").arg(r.host, r.session));
}

void EgressPanel::allowAlways()
{
    const egress::EgressRecord *current = currentRecord();
    if (!current || current->decision != egress::Verdict::Deny || !m_store)
        return;
    const egress::EgressRecord r = *current;
    auto reader = store::StoreReader::open(m_databasePath);
    if (!reader) {
        docks::showError(m_error, tr("Cannot open the store: %1").arg(reader.error().message));
        return;
    }
    auto session = reader->session(r.session);
    if (!session || !*session || (*session)->policy.isEmpty()) {
        docks::showError(m_error, !session ? tr("Cannot read session %1: %2").arg(r.session, session.error().message)
                                           : tr("Session %1 names no policy to add %2 to.").arg(r.session, r.host));
        return;
    }
    const QString name = (*session)->policy;
    auto entry = policy::findPolicy(*reader, name);
    if (!entry) {
        docks::showError(m_error, tr("Cannot find policy %1: %2").arg(name, entry.error().message));
        return;
    }
    policy::Policy edited = entry->policy;
    const QString wanted = allowPatternFor(r);
    if (edited.network.allow.contains(wanted)) {
        report(tr("Policy %1 already allows %2.").arg(name, wanted));
    } else {
        edited.network.allow.append(wanted);
        const QString note = tr("allow %1 (from the egress log of %2)").arg(wanted, r.session);
        auto version = m_policyChange ? m_policyChange(entry->name, wanted, note)
                                      : policy::savePolicy(*m_store, *reader, entry->name, edited, note);
        if (!version) {
            docks::showError(m_error, tr("Could not save policy %1: %2").arg(name, version.error().message));
            return;
        }
        report(tr("Added %1 to policy %2 (version %3).").arg(wanted, name).arg(*version));
        Q_EMIT policySaved(entry->name, *version);
    }
    // A running proxy reads the policy when its sandbox starts; the rule makes it count now.
    if (m_proxy && m_proxy->sessions().contains(r.session))
        m_proxy->setPolicy(r.session, edited);
    if (!r.rule.startsWith(QLatin1String("policy deny")))
        addRuntimeRule(r, tr("allowed always (policy %1)").arg(name));
    else
        docks::showError(m_error, tr("%1 is also on the policy's deny list (%2), which wins over the allow list.")
                                      .arg(r.host, r.rule));
}

} // namespace airlock::ui
