-- :checkhealth codescaler

local M = {}

function M.check()
  local health = vim.health
  local codescaler = require("codescaler")
  health.start("codescaler")
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.11 or newer is needed")
  end
  local cfg = codescaler.config()
  if not cfg then
    health.warn('require("codescaler").setup({...}) has not run')
    return
  end
  local cmd = cfg.cmd or { "codescaler", "lsp" }
  if vim.fn.executable(cmd[1]) == 1 then
    health.ok("server command: " .. table.concat(cmd, " "))
  else
    health.error(cmd[1] .. " is not executable", { "pip install codescaler, or set cmd = { '/path/codescaler', 'lsp' }" })
  end
  if cfg.token_file then
    local path = vim.fs.normalize(cfg.token_file)
    local stat = vim.uv.fs_stat(path)
    if not stat then
      health.error("token_file " .. path .. " does not exist")
    elseif bit.band(stat.mode, tonumber("077", 8)) ~= 0 then
      health.warn("token_file " .. path .. " is readable by other users", { "chmod 600 " .. path })
    else
      health.ok("token_file " .. path)
    end
  end
  health.info("inline suggestions: " .. (codescaler.inline_backend() or "off"))
  health.info("filetypes: " .. table.concat(cfg.filetypes, ", "))
  local clients = vim.lsp.get_clients({ name = "codescaler" })
  if #clients == 0 then
    health.info("no server running (it starts with the first buffer of those filetypes)")
  end
  for _, client in ipairs(clients) do
    local status = codescaler.status_info(next(client.attached_buffers)) or { state = "?", message = "" }
    local line = ("server %d: %s %s"):format(client.id, status.state, status.message)
    if status.state == "error" then
      health.error(line)
    elseif status.state == "slow" then
      health.warn(line)
    else
      health.ok(line)
    end
  end
end

return M
