#pragma once
// The users whose messages and DMs this client hides (/ignore), kept in a
// file of the state directory so that the list outlives the session.

#include <set>
#include <string>
#include <vector>

namespace chat {

/// Names compare case-insensitively (nameKey); the spelling given first is kept.
class IgnoreList {
public:
    /// Loads `file` (one name per line) when it exists; empty: in memory only.
    explicit IgnoreList(std::string file = {});

    /// False when the name was already there.
    bool add(const std::string& name);
    /// False when the name was not there.
    bool remove(const std::string& name);
    bool contains(const std::string& name) const;
    /// The names, sorted.
    std::vector<std::string> names() const;

private:
    void save() const;  ///< rewrites the file (directories created, mode 0600)

    std::string file_;
    std::set<std::string> keys_;
    std::vector<std::string> names_;
};

}  // namespace chat
