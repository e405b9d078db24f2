#include "policypanels.h"

#include "policy/approvals.h"
#include "policy/codec.h"
#include "policy/compiler.h"
#include "sandbox/seccompfilter.h"
#include "policy/textdiff.h"
#include "policydocument.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSyntaxHighlighter>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
enum { PathRole = Qt::UserRole + 1, IndexRole };

QPlainTextEdit *codeView(QWidget *parent, const QString &name)
{
    auto *t = new QPlainTextEdit(parent);
    t->setReadOnly(true);
    t->setLineWrapMode(QPlainTextEdit::NoWrap);
    t->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    t->setAccessibleName(name);
    t->setObjectName(QStringLiteral("code_") + name);
    return t;
}

class DiffHighlighter : public QSyntaxHighlighter
{
public:
    using QSyntaxHighlighter::QSyntaxHighlighter;

protected:
    void highlightBlock(const QString &text) override
    {
        if (text.startsWith(QLatin1String("+++")) || text.startsWith(QLatin1String("---")))
            setFormat(0, int(text.size()), QColor(0x88, 0x88, 0x88));
        else if (text.startsWith(u'+'))
            setFormat(0, int(text.size()), QColor(0x1a, 0x7f, 0x37));
        else if (text.startsWith(u'-'))
            setFormat(0, int(text.size()), QColor(0xcf, 0x22, 0x2e));
        else if (text.startsWith(QLatin1String("@@")))
            setFormat(0, int(text.size()), QColor(0x82, 0x50, 0xdf));
    }
};
} // namespace

FindingsPanel::FindingsPanel(PolicyDocument *doc, policy::HostFacts facts, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_facts(std::move(facts)), m_list(new QTreeWidget(this)),
      m_fix(new QPushButton(tr("Apply &Fix"), this)), m_summary(new QLabel(this))
{
    m_list->setObjectName(QStringLiteral("findingsList"));
    m_list->setAccessibleName(tr("Findings"));
    m_list->setHeaderLabels({tr("Finding"), tr("Setting")});
    m_list->setRootIsDecorated(false);
    m_list->setWordWrap(true);
    m_list->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_fix->setObjectName(QStringLiteral("applyFix"));
    m_fix->setEnabled(false);
    m_summary->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_fix);
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item) {
        const int i = item ? item->data(0, IndexRole).toInt() : -1;
        m_fix->setEnabled(i >= 0 && i < m_findings.size() && m_findings.at(i).fix.has_value());
        m_fix->setToolTip(m_fix->isEnabled() ? m_findings.at(i).fix->description : QString());
    });
    connect(m_list, &QTreeWidget::itemActivated, this,
            [this](QTreeWidgetItem *item) { Q_EMIT showPath(item->data(0, PathRole).toString()); });
    connect(m_fix, &QPushButton::clicked, this, &FindingsPanel::applySelectedFix);
    update();
}

void FindingsPanel::update()
{
    const QList<policy::Issue> issues = policy::validatePolicy(m_doc->policy());
    m_findings = policy::lint(m_doc->policy(), m_facts);
    m_errors = int(issues.size());
    const QString current = m_list->currentItem() ? m_list->currentItem()->text(0) : QString();
    m_list->clear();
    for (const policy::Issue &issue : issues) {
        auto *item = new QTreeWidgetItem(m_list, {tr("Error: %1").arg(issue.message), issue.path});
        item->setData(0, PathRole, issue.path);
        item->setData(0, IndexRole, -1);
        item->setForeground(0, QColor(0xcf, 0x22, 0x2e));
    }
    for (int i = 0; i < m_findings.size(); ++i) {
        const policy::Finding &f = m_findings.at(i);
        const QString severity = f.severity == policy::Severity::Critical ? tr("Critical")
            : f.severity == policy::Severity::Warning                     ? tr("Warning")
                                                                          : tr("Info");
        auto *item = new QTreeWidgetItem(m_list, {QStringLiteral("%1: %2").arg(severity, f.title), f.path});
        item->setToolTip(0, f.why + (f.fix ? QStringLiteral("\n\n") + tr("Fix: %1").arg(f.fix->description) : QString()));
        item->setData(0, PathRole, f.path);
        item->setData(0, IndexRole, i);
        if (f.severity == policy::Severity::Critical)
            item->setForeground(0, QColor(0xcf, 0x22, 0x2e));
        if (item->text(0) == current)
            m_list->setCurrentItem(item);
    }
    m_summary->setText(issues.isEmpty() && m_findings.isEmpty()
                           ? tr("No findings: nothing in this policy needs your attention.")
                           : tr("%1 error(s), %2 finding(s). Activate one to show the setting.")
                                 .arg(issues.size())
                                 .arg(m_findings.size()));
}

void FindingsPanel::applySelectedFix()
{
    QTreeWidgetItem *item = m_list->currentItem();
    const int i = item ? item->data(0, IndexRole).toInt() : -1;
    if (i < 0 || i >= m_findings.size() || !m_findings.at(i).fix)
        return;
    // Computed before replace(): the edit re-lints and replaces m_findings.
    const policy::Fix &fix = *m_findings.at(i).fix;
    const QString text = tr("Fix: %1").arg(fix.description);
    const policy::Policy fixed = fix.apply(m_doc->policy());
    m_doc->replace(text, fixed);
}

PreviewPanel::PreviewPanel(PolicyDocument *doc, bool docker, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_docker(docker),
      m_text(codeView(this, docker ? QStringLiteral("dockerPreview") : QStringLiteral("bwrapPreview")))
{
    auto *copy = new QPushButton(tr("&Copy"), this);
    connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_text->toPlainText()); });
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(docker ? tr("The container Airlock creates (as the equivalent docker run):")
                                        : tr("The sandbox Airlock starts (as the equivalent bwrap command):"),
                                 this));
    layout->addWidget(m_text, 1);
    layout->addWidget(copy, 0, Qt::AlignRight);
    update();
}

void PreviewPanel::update()
{
    policy::LaunchContext launch;
    launch.sessionId = QStringLiteral("preview");
    launch.workspace = QDir::home().filePath(QStringLiteral("project"));
    launch.shim = QStringLiteral("/usr/libexec/airlock/airlock-shim");
    launch.controlDir = QStringLiteral("/run/user/1000/airlock/preview");
    launch.home = QDir::homePath();
    QString text;
    if (m_docker) {
        launch.seccompProfileJson = QString::fromUtf8(sandbox::dockerSeccompProfile(m_doc->policy().privileges));
        launch.shimConnects = true; // as the Docker backend launches it
        auto body = policy::compileDockerCreate(m_doc->policy(), launch);
        text = body ? policy::renderDockerRunCommandLine(*body) : tr("Cannot compile: %1").arg(body.error().message);
    } else {
        auto cmd = policy::compileBwrap(m_doc->policy(), launch);
        text = cmd ? policy::renderBwrapCommandLine(*cmd) : tr("Cannot compile: %1").arg(cmd.error().message);
    }
    if (m_text->toPlainText() != text)
        m_text->setPlainText(text);
}

QString PreviewPanel::text() const
{
    return m_text->toPlainText();
}

DiffPanel::DiffPanel(PolicyDocument *doc, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_text(codeView(this, QStringLiteral("policyDiff")))
{
    new DiffHighlighter(m_text->document());
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_text);
    update();
}

void DiffPanel::update()
{
    const QString saved = m_doc->savedVersion() > 0 ? tr("version %1").arg(m_doc->savedVersion()) : tr("preset");
    QString diff = policy::unifiedDiff(policy::serializePolicy(m_doc->saved()), policy::serializePolicy(m_doc->policy()),
                                       saved, tr("edited"));
    if (diff.isEmpty())
        diff = tr("No changes against the saved %1.").arg(saved);
    if (m_text->toPlainText() != diff)
        m_text->setPlainText(diff);
}

QString DiffPanel::text() const
{
    return m_text->toPlainText();
}

TesterPanel::TesterPanel(PolicyDocument *doc, QWidget *parent)
    : QWidget(parent), m_doc(doc), m_kind(new QComboBox(this)), m_command(new QLineEdit(this)),
      m_path(new QLineEdit(this)), m_domain(new QLineEdit(this)), m_result(new QLabel(this))
{
    for (const auto &e : policy::enumNames<policy::ToolKind>()) {
        if (e.value != policy::ToolKind::Any)
            m_kind->addItem(QString::fromLatin1(e.name), int(e.value));
    }
    m_kind->setCurrentText(QStringLiteral("execute"));
    m_command->setPlaceholderText(QStringLiteral("npm test"));
    m_path->setPlaceholderText(QStringLiteral("src/main.ts"));
    m_domain->setPlaceholderText(QStringLiteral("registry.npmjs.org"));
    m_result->setWordWrap(true);
    m_result->setObjectName(QStringLiteral("testerResult"));
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *form = new QFormLayout(this);
    form->addRow(new QLabel(tr("Would this tool call be allowed?"), this));
    form->addRow(tr("&Kind"), m_kind);
    form->addRow(tr("C&ommand"), m_command);
    form->addRow(tr("&Path"), m_path);
    form->addRow(tr("Do&main"), m_domain);
    form->addRow(m_result);
    m_kind->setObjectName(QStringLiteral("testerKind"));
    m_command->setObjectName(QStringLiteral("testerCommand"));
    m_path->setObjectName(QStringLiteral("testerPath"));
    m_domain->setObjectName(QStringLiteral("testerDomain"));
    connect(m_kind, &QComboBox::currentIndexChanged, this, &TesterPanel::update);
    for (QLineEdit *e : {m_command, m_path, m_domain})
        connect(e, &QLineEdit::textChanged, this, &TesterPanel::update);
    update();
}

void TesterPanel::update()
{
    const policy::ToolCall call{policy::ToolKind(m_kind->currentData().toInt()), m_command->text(), m_path->text(),
                                m_domain->text(), {}, {}};
    const auto d = policy::evaluate(m_doc->policy().approvals, call);
    const QString colour = d.verdict == policy::Verdict::Allow ? QStringLiteral("#1a7f37")
        : d.verdict == policy::Verdict::Deny                   ? QStringLiteral("#cf222e")
                                                               : QStringLiteral("#9a6700");
    m_result->setText(QStringLiteral("<b style='color:%1'>%2</b> — %3")
                          .arg(colour, policy::nameOf(d.verdict).toUpper(), d.explanation.toHtmlEscaped()));
}

QString TesterPanel::result() const
{
    return m_result->text();
}

} // namespace airlock::ui
