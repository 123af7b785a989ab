#include "client/ignore_list.hpp"

#include "shared/validation.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>

namespace chat {

IgnoreList::IgnoreList(std::string file) : file_(std::move(file)) {
    if (file_.empty()) return;
    std::ifstream in(file_);
    for (std::string line; std::getline(in, line);)
        if (isValidName(line) && keys_.insert(nameKey(line)).second) names_.push_back(line);
}

bool IgnoreList::add(const std::string& name) {
    if (!keys_.insert(nameKey(name)).second) return false;
    names_.push_back(name);
    save();
    return true;
}

bool IgnoreList::remove(const std::string& name) {
    if (!keys_.erase(nameKey(name))) return false;
    names_.erase(std::remove_if(names_.begin(), names_.end(), [&](const auto& n) { return nameKey(n) == nameKey(name); }),
                 names_.end());
    save();
    return true;
}

bool IgnoreList::contains(const std::string& name) const { return keys_.count(nameKey(name)) > 0; }

std::vector<std::string> IgnoreList::names() const {
    auto sorted = names_;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return nameKey(a) < nameKey(b); });
    return sorted;
}

void IgnoreList::save() const {
    if (file_.empty()) return;
    for (auto slash = file_.find('/', 1); slash != std::string::npos; slash = file_.find('/', slash + 1))
        if (::mkdir(file_.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST) return;
    const auto temporary = file_ + ".new";
    {
        std::ofstream out(temporary, std::ios::trunc);
        if (!out) return;
        for (const auto& name : names_) out << name << "\n";
    }
    ::chmod(temporary.c_str(), 0600);
    std::rename(temporary.c_str(), file_.c_str());
}

}  // namespace chat
