/// A count of matching steps a script may still spend, shared by every pattern and regex call
/// made while one record is processed.
///
/// For Lua patterns one step is roughly one attempt to match one pattern item at one subject
/// position (a character test, a capture, an anchor check, one backtrack). Long scans inside
/// one item (`%b()`, a back-reference compare) are charged per bytes looked at, so the cost
/// follows the real work. Measured in a release build on the 2-core build machine (under
/// load): 4–7 ns per Lua pattern step, so a budget of 50,000,000 steps stops
/// `string.find(string.rep("a", 5000), ".-.-.-b")` in 0.2–0.4 s, while an ordinary pattern
/// over a 1.5 KB article body costs 1,500–6,000 steps. A PCRE2 regex call is charged the bytes
/// it scanned, and the budget left bounds its backtracking (`PCRE2Limits`).
public struct MatchBudget: Sendable, Hashable {
    /// Steps left. When a call would take it below zero, it throws `MatchError.budgetExceeded`
    /// and leaves `remaining` at zero.
    public var remaining: Int

    /// Creates a budget of `steps` steps (negative counts as zero).
    public init(steps: Int) {
        remaining = max(0, steps)
    }

    /// The budget that is never exhausted in practice (`Int.max` steps), for trusted callers.
    public static var unlimited: MatchBudget { MatchBudget(steps: Int.max) }
}

/// Why a pattern or regex call failed.
public enum MatchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The pattern (or replacement string) is invalid. For Lua patterns the text is Lua 5.4's
    /// own message (for example `malformed pattern (missing ']')`); for regexes it is PCRE2's
    /// message and the byte offset in the pattern (`missing closing parenthesis at offset 3`).
    case malformed(String)
    /// The call ran out of steps of its `MatchBudget`.
    case budgetExceeded

    /// The message a user sees.
    public var description: String {
        switch self {
        case .malformed(let message): return message
        case .budgetExceeded: return "pattern matching exceeded its step budget (pattern too slow for this input)"
        }
    }
}
