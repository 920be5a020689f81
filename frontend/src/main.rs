fn main() {
    frontend::mount();
}
