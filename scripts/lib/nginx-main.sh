# Sourced by the test suites: `nginx_main DIR INCLUDE` writes DIR/nginx.conf, a main file for
# an unprivileged nginx run in DIR (pid, logs and temporary files there) around INCLUDE, the
# content of an `http {}` block such as ops/nginx/dcs.conf.
nginx_main() {
  local dir=$1 include=$2
  cat >"$dir/nginx.conf" <<CONF
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {}
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  include $include;
}
CONF
}
