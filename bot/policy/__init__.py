"""Who may use Easel, where and how much: pure rules that refuse before any upstream spend."""
