#include "shadowrepo.h"

#include "looseobjects.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <git2/sys/repository.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace airlock::workspace {

namespace {

QByteArray excludeText(const QStringList &patterns)
{
    QByteArray text = "# Written by Airlock: what snapshots of this workspace leave out, besides .gitignore.\n";
    for (const QString &p : patterns)
        text += p.toUtf8() + '\n';
    return text;
}

// A configuration with only the repository's own file: the user's ~/.gitconfig (autocrlf,
// excludesFile, diff.noprefix …) must not change what a snapshot holds or how a diff reads.
Result<void> isolateConfig(git_repository *repo, const QString &gitDir)
{
    git_config *raw = nullptr;
    if (int rc = git_config_new(&raw); rc < 0)
        return git::failed(rc, QStringLiteral("cannot set up the configuration of %1").arg(gitDir));
    git::Config cfg(raw);
    const QByteArray file = QFile::encodeName(gitDir + QStringLiteral("/config"));
    if (int rc = git_config_add_file_ondisk(cfg.get(), file.constData(), GIT_CONFIG_LEVEL_LOCAL, repo, 0); rc < 0)
        return git::failed(rc, QStringLiteral("cannot read %1/config").arg(gitDir));
    if (int rc = git_repository_set_config(repo, cfg.get()); rc < 0)
        return git::failed(rc, QStringLiteral("cannot configure %1").arg(gitDir));
    return {};
}

Result<git::Repository> openBare(const QString &gitDir)
{
    git_repository *raw = nullptr;
    const QByteArray path = QFile::encodeName(gitDir);
    if (int rc = git_repository_open_bare(&raw, path.constData()); rc < 0)
        return git::failed(rc, QStringLiteral("cannot open %1").arg(gitDir));
    git::Repository repo(raw);
    if (auto r = isolateConfig(repo.get(), gitDir); !r)
        return std::unexpected(r.error());
    return repo;
}

qint64 mtimeNs(const struct stat &st)
{
    return qint64(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

} // namespace

ShadowRepo::ShadowRepo(ShadowRepo &&) noexcept = default;
ShadowRepo &ShadowRepo::operator=(ShadowRepo &&) noexcept = default;
ShadowRepo::~ShadowRepo() = default;

Result<ShadowRepo> ShadowRepo::open(const QString &gitDir, const QString &workspace, const QString &session,
                                    const WorkspaceOptions &options, Mode mode)
{
    git::ensureInitialised();
    ShadowRepo r;
    r.m_gitDir = QDir::cleanPath(QFileInfo(gitDir).absoluteFilePath());
    r.m_workspace = workspace.isEmpty() ? QString() : QDir::cleanPath(QFileInfo(workspace).absoluteFilePath());
    r.m_session = session;
    r.m_options = options;
    r.m_private = PrivateEntries(options.privatePaths, r.m_workspace);
    if (mode == Mode::Read && !QFileInfo::exists(r.m_gitDir))
        return fail(ErrorCode::NotFound,
                    QStringLiteral("session %1 has no checkpoints yet (no history at %2)").arg(session, r.m_gitDir));
    if (mode == Mode::Write) {
        if (auto l = r.lock(); !l)
            return std::unexpected(l.error());
        if (!QFileInfo::exists(r.m_gitDir))
            if (auto c = r.create(); !c)
                return std::unexpected(c.error());
    }
    auto repo = openBare(r.m_gitDir);
    if (!repo)
        return std::unexpected(r.damaged(repo.error()));
    r.m_repo = std::move(*repo);
    git_odb *odb = nullptr;
    if (int rc = git_repository_odb(&odb, r.m_repo.get()); rc < 0)
        return std::unexpected(r.damaged(git::lastError(rc, QStringLiteral("cannot open the objects of %1").arg(r.m_gitDir))));
    git::Odb ownedOdb(odb);
    auto reader = installLooseObjectReader(odb, QStringList{r.objectsDir()} + r.alternates());
    if (!reader)
        return std::unexpected(reader.error());
    r.m_objectReader = *reader;
    if (mode == Mode::Write)
        if (auto s = r.syncExclude(); !s)
            return std::unexpected(s.error());
    return r;
}

Result<void> ShadowRepo::create()
{
    git_repository_init_options init = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    init.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
    init.initial_head = "checkpoints";
    const QByteArray desc = QStringLiteral("Airlock checkpoints of session %1").arg(m_session).toUtf8();
    init.description = desc.constData();
    git_repository *raw = nullptr;
    const QByteArray path = QFile::encodeName(m_gitDir);
    if (int rc = git_repository_init_ext(&raw, path.constData(), &init); rc < 0)
        return git::failed(rc, QStringLiteral("cannot create the checkpoint history at %1").arg(m_gitDir));
    git::Repository repo(raw);
    git_config *cfg = nullptr;
    if (int rc = git_repository_config(&cfg, repo.get()); rc == 0) {
        git::Config owned(cfg);
        // Point the user-level fallbacks (~/.config/git/ignore, attributes) at files that do not
        // exist, so only the workspace's .gitignore files and our info/exclude count.
        const QByteArray none = QFile::encodeName(m_gitDir + QStringLiteral("/info/none"));
        git_config_set_string(owned.get(), "core.excludesFile", none.constData());
        git_config_set_string(owned.get(), "core.attributesFile", none.constData());
        git_config_set_bool(owned.get(), "core.logAllRefUpdates", 0);
    }
    return {};
}

Result<void> ShadowRepo::lock()
{
    const QString folder = QFileInfo(m_gitDir).absolutePath();
    if (!QDir().mkpath(folder))
        return fail(ErrorCode::Io, QStringLiteral("cannot create the folder %1").arg(folder));
    const QByteArray path = QFile::encodeName(m_gitDir + QStringLiteral(".lock"));
    fs::Fd fd(::open(path.constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
    if (!fd.valid())
        return fail(ErrorCode::Io, QStringLiteral("cannot lock %1: %2").arg(m_gitDir, fs::errnoMessage(errno)));
    // Blocks while another snapshot, rewind or fork of this session runs (here or in another
    // process); callers are worker threads or the CLI.
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
            return fail(ErrorCode::Io, QStringLiteral("cannot lock %1: %2").arg(m_gitDir, fs::errnoMessage(errno)));
    }
    m_lock = std::move(fd);
    return {};
}

Result<void> ShadowRepo::syncExclude()
{
    const QString path = m_gitDir + QStringLiteral("/info/exclude");
    const QByteArray want = excludeText(m_options.ignore);
    QFile current(path);
    if (current.open(QIODevice::ReadOnly) && current.readAll() == want)
        return {};
    current.close();
    QDir().mkpath(m_gitDir + QStringLiteral("/info"));
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(want) != want.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    return {};
}

Error ShadowRepo::damaged(const Error &cause) const
{
    if (cause.code == ErrorCode::Io || cause.code == ErrorCode::Busy || cause.code == ErrorCode::Cancelled)
        return cause;
    return Error{ErrorCode::Corrupt,
                 QStringLiteral("the checkpoint history of session %1 (%2) is damaged: %3. Its checkpoints cannot be "
                                "read or taken until it is moved away (for example to %2.damaged; the next "
                                "checkpoint then starts a new history). The session's events are not affected.")
                     .arg(m_session, m_gitDir, cause.message)};
}

Result<std::optional<git_oid>> ShadowRepo::head()
{
    git_oid id;
    const int rc = git_reference_name_to_id(&id, m_repo.get(), kHeadRef);
    if (rc == GIT_ENOTFOUND)
        return std::optional<git_oid>();
    if (rc < 0)
        return std::unexpected(damaged(git::lastError(rc, QStringLiteral("cannot read %1").arg(QLatin1String(kHeadRef)))));
    return std::optional<git_oid>(id);
}

Result<void> ShadowRepo::setHead(const git_oid &commit, const std::optional<git_oid> &expected, const QString &why)
{
    git_reference *raw = nullptr;
    const QByteArray msg = why.toUtf8();
    const int rc = git_reference_create_matching(&raw, m_repo.get(), kHeadRef, &commit, expected ? 1 : 0,
                                                 expected ? &*expected : nullptr, msg.constData());
    git::Reference ref(raw);
    if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED)
        return fail(ErrorCode::Busy, QStringLiteral("the checkpoint history of session %1 changed while it was being "
                                                    "written; try again")
                                         .arg(m_session));
    if (rc < 0)
        return git::failed(rc, QStringLiteral("cannot move the checkpoint head of session %1").arg(m_session));
    return {};
}

Result<git::Commit> ShadowRepo::commit(const git_oid &id)
{
    git_commit *raw = nullptr;
    if (int rc = git_commit_lookup(&raw, m_repo.get(), &id); rc < 0) {
        Error e = git::lastError(rc, QStringLiteral("cannot read checkpoint %1").arg(git::toHex(id).left(12)));
        return std::unexpected(rc == GIT_ENOTFOUND ? e : damaged(e));
    }
    return git::Commit(raw);
}

Result<git::Tree> ShadowRepo::treeOf(const git_oid &id)
{
    auto c = commit(id);
    if (!c)
        return std::unexpected(c.error());
    git_tree *raw = nullptr;
    if (int rc = git_commit_tree(&raw, c->get()); rc < 0)
        return std::unexpected(damaged(git::lastError(rc, QStringLiteral("cannot read the files of checkpoint %1")
                                                              .arg(git::toHex(id).left(12)))));
    return git::Tree(raw);
}

Result<void> ShadowRepo::loadIndex()
{
    const QString path = m_gitDir + QStringLiteral("/index");
    const QByteArray encoded = QFile::encodeName(path);
    struct stat st;
    const bool exists = ::stat(encoded.constData(), &st) == 0;
    m_racyCutoffNs = exists ? mtimeNs(st) : 0;
    git_index *raw = nullptr;
    int rc = exists ? git_index_open(&raw, encoded.constData()) : -1;
    if (rc == 0) {
        m_index.reset(raw);
        return reconcileIndex();
    }
    // A missing or unreadable stat cache is rebuilt from the newest snapshot, so files that are no
    // longer there still count as deleted; the next scan hashes everything once.
    if (exists)
        QFile::rename(path, path + QStringLiteral(".damaged-") + QString::number(QDateTime::currentSecsSinceEpoch()));
    if (int r2 = git_index_open(&raw, encoded.constData()); r2 < 0)
        return git::failed(r2, QStringLiteral("cannot create %1").arg(path));
    m_index.reset(raw);
    auto h = head();
    if (!h)
        return std::unexpected(h.error());
    if (*h) {
        auto tree = treeOf(**h);
        if (!tree)
            return std::unexpected(tree.error());
        if (int r3 = git_index_read_tree(m_index.get(), tree->get()); r3 < 0)
            return std::unexpected(damaged(git::lastError(r3, QStringLiteral("cannot rebuild %1").arg(path))));
        m_indexRebuilt = exists;
    }
    m_racyCutoffNs = 0;
    return {};
}

// The cache may be behind the head: its file is saved only when the set of paths changes (or many
// entries went stale), and a crash can fall between moving the head and saving it. Entries may then
// carry old stats or contents (harmless: they are read again), but the set of paths must match the
// head, or a file added and later deleted would never leave the snapshots. index.head names the
// snapshot the saved set matches; the paths added or removed since are patched in.
Result<void> ShadowRepo::reconcileIndex()
{
    auto h = head();
    if (!h)
        return std::unexpected(h.error());
    if (!*h)
        return {};
    git_oid recorded;
    QFile marker(m_gitDir + QStringLiteral("/index.head"));
    const bool known = marker.open(QIODevice::ReadOnly) && git::fromHex(QString::fromLatin1(marker.read(40)), &recorded);
    if (known && git_oid_equal(&recorded, &**h))
        return {};
    auto headTree = treeOf(**h);
    if (!headTree)
        return std::unexpected(headTree.error());
    git::Tree fromTree;
    if (known) {
        if (auto t = treeOf(recorded))
            fromTree = std::move(*t);
    }
    if (!fromTree) {
        // Nothing to start from: compare with the whole head, once.
        git_index *raw = nullptr;
        if (int rc = git_index_new(&raw); rc < 0)
            return git::failed(rc, QStringLiteral("cannot check the snapshot cache"));
        git::Index want(raw);
        if (int rc = git_index_read_tree(want.get(), headTree->get()); rc < 0)
            return std::unexpected(damaged(git::lastError(rc, QStringLiteral("cannot read the newest snapshot"))));
        std::vector<std::string> extra;
        for (size_t i = 0; i < git_index_entrycount(m_index.get()); ++i) {
            const git_index_entry *e = git_index_get_byindex(m_index.get(), i);
            if (!git_index_get_bypath(want.get(), e->path, 0))
                extra.emplace_back(e->path);
        }
        for (const std::string &p : extra)
            git_index_remove(m_index.get(), p.c_str(), 0);
        for (size_t i = 0; i < git_index_entrycount(want.get()); ++i) {
            const git_index_entry *e = git_index_get_byindex(want.get(), i);
            if (!git_index_get_bypath(m_index.get(), e->path, 0))
                git_index_add(m_index.get(), e); // no stat: read again at the next scan
        }
        git_error_clear();
        return {};
    }
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
    git_diff *rawDiff = nullptr;
    if (int rc = git_diff_tree_to_tree(&rawDiff, m_repo.get(), fromTree.get(), headTree->get(), &opts); rc < 0)
        return std::unexpected(damaged(git::lastError(rc, QStringLiteral("cannot check the snapshot cache"))));
    git::Diff diff(rawDiff);
    for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
        const git_diff_delta *d = git_diff_get_delta(diff.get(), i);
        if (d->status == GIT_DELTA_DELETED) {
            git_index_remove(m_index.get(), d->old_file.path, 0);
        } else if (d->status == GIT_DELTA_ADDED || d->status == GIT_DELTA_TYPECHANGE) {
            if (d->status == GIT_DELTA_TYPECHANGE)
                git_index_remove(m_index.get(), d->old_file.path, 0);
            if (!git_index_get_bypath(m_index.get(), d->new_file.path, 0)) {
                git_index_entry e{};
                e.mode = d->new_file.mode;
                e.id = d->new_file.id;
                e.path = d->new_file.path;
                git_index_add(m_index.get(), &e);
            }
        }
    }
    git_error_clear();
    return {};
}

ShadowRepo::Stamp ShadowRepo::indexStamp() const
{
    struct stat st;
    if (::stat(QFile::encodeName(m_gitDir + QStringLiteral("/index")).constData(), &st) != 0)
        return {};
    return Stamp{quint64(st.st_dev), quint64(st.st_ino), qint64(st.st_size), mtimeNs(st)};
}

void ShadowRepo::adoptIndex(git::Index index, qint64 racyCutoffNs)
{
    m_index = std::move(index);
    m_racyCutoffNs = racyCutoffNs;
    m_indexLoaded = true;
    m_indexRebuilt = false;
}

git::Index ShadowRepo::releaseIndex()
{
    m_indexLoaded = false;
    return std::move(m_index);
}

Result<git_index *> ShadowRepo::index()
{
    if (!m_indexLoaded) {
        if (auto r = loadIndex(); !r)
            return std::unexpected(r.error());
        m_indexLoaded = true;
    }
    return m_index.get();
}

Result<void> ShadowRepo::writeIndex(qint64 scanStartNs, const git_oid &head)
{
    if (!m_index)
        return {};
    if (int rc = git_index_write(m_index.get()); rc < 0)
        return git::failed(rc, QStringLiteral("cannot save the snapshot cache of session %1").arg(m_session));
    const QByteArray path = QFile::encodeName(m_gitDir + QStringLiteral("/index"));
    struct timespec times[2];
    times[0].tv_sec = time_t(scanStartNs / 1000000000);
    times[0].tv_nsec = long(scanStartNs % 1000000000);
    times[1] = times[0];
    ::utimensat(AT_FDCWD, path.constData(), times, 0);
    struct stat st;
    if (::stat(path.constData(), &st) == 0)
        m_racyCutoffNs = mtimeNs(st);
    QSaveFile marker(m_gitDir + QStringLiteral("/index.head"));
    const QByteArray hex = QByteArray::fromStdString(git::toStdHex(head)) + '\n';
    if (!marker.open(QIODevice::WriteOnly) || marker.write(hex) != hex.size() || !marker.commit())
        QFile::remove(m_gitDir + QStringLiteral("/index.head")); // unknown is safe: the next load compares all
    return {};
}

bool ShadowRepo::isIgnored(const std::string &path, bool isDir)
{
    std::lock_guard guard(*m_ignoreMutex);
    if (!m_ignoreRepo) {
        auto repo = openBare(m_gitDir);
        if (!repo)
            return false;
        const QByteArray ws = QFile::encodeName(m_workspace);
        if (git_repository_set_workdir(repo->get(), ws.constData(), 0) < 0)
            return false;
        m_ignoreRepo = std::move(*repo);
    }
    int ignored = 0;
    const std::string query = isDir ? path + '/' : path;
    if (git_ignore_path_is_ignored(&ignored, m_ignoreRepo.get(), query.c_str()) < 0)
        return false;
    return ignored != 0;
}

Result<void> ShadowRepo::addAlternates(const QStringList &objectDirs)
{
    git_odb *raw = nullptr;
    if (int rc = git_repository_odb(&raw, m_repo.get()); rc < 0)
        return git::failed(rc, QStringLiteral("cannot open the objects of %1").arg(m_gitDir));
    git::Odb odb(raw);
    for (const QString &dir : objectDirs) {
        if (dir == objectsDir() || !QFileInfo::exists(dir))
            continue;
        const QByteArray path = QFile::encodeName(dir);
        if (int rc = git_odb_add_disk_alternate(odb.get(), path.constData()); rc < 0)
            return git::failed(rc, QStringLiteral("cannot read the objects at %1").arg(dir));
        if (m_objectReader)
            addLooseObjectDirs(m_objectReader, {dir});
    }
    return {};
}

QStringList ShadowRepo::alternates() const
{
    QFile f(objectsDir() + QStringLiteral("/info/alternates"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList out;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &line : lines)
        if (!line.trimmed().isEmpty() && !line.startsWith('#'))
            out.append(QFile::decodeName(line.trimmed()));
    return out;
}

} // namespace airlock::workspace
