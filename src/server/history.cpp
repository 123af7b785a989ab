#include "server/history.hpp"

namespace chat {

std::string directKey(const std::string& userKeyA, const std::string& userKeyB) {
    const bool aFirst = userKeyA <= userKeyB;
    return "@" + (aFirst ? userKeyA : userKeyB) + " @" + (aFirst ? userKeyB : userKeyA);
}

}  // namespace chat
