DROP TABLE activity;
DROP TABLE login_approvals;
DROP TABLE sessions;
DROP TABLE users;
