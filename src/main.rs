fn main() {
    println!("rwkv-lens");
}
